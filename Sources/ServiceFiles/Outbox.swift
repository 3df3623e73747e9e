import Foundation

/// Events waiting for one receiver (an MQTT broker, a webhook), on disk, so that none
/// is lost while the receiver is down or the daemon restarts: appended as JSON lines to
/// segment files under `<spool>/outbox/<receiver>/`, read in order, and dropped only
/// once the receiver has acknowledged them (`acknowledge`). What was acknowledged is
/// recorded in a cursor file at most every `cursorSeconds`, so a crash delivers some
/// events again: at least once, in order. When the outbox holds more than `maxBytes`,
/// its oldest segments are dropped, acknowledged or not, and counted: a receiver that
/// stays down costs disk up to the bound, never tracking.
///
/// One writer (the tracking threads, under the lock) and one reader (the receiver's
/// delivery loop); every method is safe to call from any thread.
public final class Outbox: @unchecked Sendable {
    /// Where an event lies: its segment and the byte after its line.
    public struct Position: Comparable, Sendable, Hashable {
        public var segment: Int
        public var offset: Int
        public static func < (a: Position, b: Position) -> Bool { (a.segment, a.offset) < (b.segment, b.offset) }
    }

    /// An event read for delivery, and where the next one starts.
    public struct Entry: Sendable {
        public var line: Data
        public var end: Position
    }

    public let directory: String
    private let maxBytes: Int
    private let segmentBytes: Int
    private let syncSeconds: Double
    private let cursorSeconds: Double
    private let lock = NSLock()
    /// The first byte not yet acknowledged.
    private var acked: Position
    /// The first byte not yet handed out for delivery.
    private var read: Position
    private var segments: [Int: Int] = [:]  // number -> size in bytes
    private var writer: (number: Int, fd: Int32)?
    private var lastSync = Date()
    private var lastCursor = Date()
    private var unsynced = false
    public private(set) var dropped = 0
    /// Events appended and not yet acknowledged.
    public private(set) var pending = 0

    /// `segmentBytes`: by default an eighth of the bound, between 256 bytes and 1 MiB
    /// (the bound is kept to within a segment).
    public init(
        directory: String, maxBytes: Int = 100 << 20, segmentBytes: Int? = nil, syncSeconds: Double = 0.2,
        cursorSeconds: Double = 0.2
    ) throws {
        let segmentBytes = segmentBytes ?? min(1 << 20, max(256, maxBytes / 8))
        self.directory = directory
        self.maxBytes = max(maxBytes, 2 * segmentBytes)
        self.segmentBytes = segmentBytes
        self.syncSeconds = syncSeconds
        self.cursorSeconds = cursorSeconds
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
            guard name.hasSuffix(".jsonl"), let number = Int(name.dropLast(6)) else { continue }
            // A line cut short by a crash is cut off, so that the next one starts clean.
            guard let data = FileManager.default.contents(atPath: directory + "/" + name) else { continue }
            let whole = (data.lastIndex(of: 0x0A).map { $0 + 1 } ?? data.startIndex) - data.startIndex
            if whole < data.count { truncate(directory + "/" + name, off_t(whole)) }
            segments[number] = whole
        }
        let first = segments.keys.min() ?? 1
        acked = Self.readCursor(directory) ?? Position(segment: first, offset: 0)
        // A cursor into a segment since dropped starts at the oldest one kept.
        if segments[acked.segment] == nil || acked.segment < first { acked = Position(segment: first, offset: 0) }
        read = acked
        pending = countLines(from: acked)
    }

    deinit {
        if let writer { close(writer.fd) }
    }

    private func path(_ segment: Int) -> String { directory + "/" + String(format: "%08d", segment) + ".jsonl" }

    private static func readCursor(_ directory: String) -> Position? {
        guard let text = try? String(contentsOfFile: directory + "/cursor", encoding: .utf8) else { return nil }
        let parts = text.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { Int($0) }
        guard parts.count == 2 else { return nil }
        return Position(segment: parts[0], offset: parts[1])
    }

    /// Lines from `position` to the end of the outbox.
    private func countLines(from position: Position) -> Int {
        segments.keys.filter { $0 >= position.segment }.reduce(0) { count, number in
            count + countLines(segment: number, from: number == position.segment ? position.offset : 0)
        }
    }

    /// Appends one event (a JSON object without a newline). Returns false when it could
    /// not be written (a full disk): the event is then counted as dropped.
    @discardableResult
    public func append(_ json: Data) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        var line = json
        line.append(0x0A)
        do {
            let fd = try currentSegment(adding: line.count)
            let written = line.withUnsafeBytes { write(fd.fd, $0.baseAddress, $0.count) }
            guard written == line.count else {
                // A partial line would corrupt the segment: cut it back.
                if written > 0 { ftruncate(fd.fd, off_t(segments[fd.number] ?? 0)) }
                dropped += 1
                return false
            }
            segments[fd.number, default: 0] += line.count
            pending += 1
            unsynced = true
            if Date().timeIntervalSince(lastSync) >= syncSeconds { syncNow() }
            enforceBound()
            return true
        } catch {
            dropped += 1
            return false
        }
    }

    /// The segment being written: the last one while it has room, else a new one.
    private func currentSegment(adding bytes: Int) throws -> (number: Int, fd: Int32) {
        if let writer {
            let size = segments[writer.number] ?? 0
            if size == 0 || size + bytes <= segmentBytes { return writer }
            fdatasync(writer.fd)
            close(writer.fd)
            self.writer = nil
            return try openSegment(writer.number + 1)
        }
        if let last = segments.keys.max(), (segments[last] ?? 0) + bytes <= segmentBytes { return try openSegment(last) }
        return try openSegment((segments.keys.max() ?? 0) + 1)
    }

    private func openSegment(_ number: Int) throws -> (number: Int, fd: Int32) {
        let fd = open(path(number), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw CocoaError(.fileWriteUnknown) }
        var st = stat()
        fstat(fd, &st)
        segments[number] = Int(st.st_size)
        writer = (number, fd)
        return (number, fd)
    }

    /// Syncs what was appended since the last sync (called by `append` at most every
    /// `syncSeconds`, and by the delivery loop when it finds nothing new).
    public func sync() {
        lock.lock()
        defer { lock.unlock() }
        syncNow()
    }

    private func syncNow() {
        if unsynced, let writer { fdatasync(writer.fd) }
        unsynced = false
        lastSync = Date()
    }

    /// Drops the oldest segments while the outbox is over its bound.
    private func enforceBound() {
        var total = segments.values.reduce(0, +)
        while total > maxBytes, let oldest = segments.keys.min(), oldest != writer?.number {
            let from = oldest == acked.segment ? acked : Position(segment: oldest, offset: 0)
            let lost = oldest < acked.segment ? 0 : countLines(segment: oldest, from: from.offset)
            dropped += lost
            pending -= lost
            total -= segments[oldest] ?? 0
            segments[oldest] = nil
            unlink(path(oldest))
            let next = segments.keys.min() ?? oldest + 1
            if acked.segment <= oldest { acked = Position(segment: next, offset: 0) }
            if read.segment <= oldest { read = Position(segment: next, offset: 0) }
        }
    }

    /// Lines of `segment` from byte `offset` on.
    private func countLines(segment: Int, from offset: Int) -> Int {
        guard let data = FileManager.default.contents(atPath: path(segment)) else { return 0 }
        return data[data.startIndex + min(offset, data.count)..<data.endIndex].reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
    }

    /// Up to `limit` events after those already handed out, in order.
    public func next(limit: Int) -> [Entry] {
        lock.lock()
        defer { lock.unlock() }
        var entries: [Entry] = []
        while entries.count < limit {
            guard let size = segments[read.segment] else {
                // Past the end of a segment: on to the next, if there is one.
                guard let next = segments.keys.filter({ $0 > read.segment }).min() else { break }
                read = Position(segment: next, offset: 0)
                continue
            }
            guard read.offset < size else {
                guard let next = segments.keys.filter({ $0 > read.segment }).min() else { break }
                read = Position(segment: next, offset: 0)
                continue
            }
            guard let handle = FileHandle(forReadingAtPath: path(read.segment)) else { break }
            defer { try? handle.close() }
            try? handle.seek(toOffset: UInt64(read.offset))
            // About what `limit` lines take (the rest of the segment if that holds none).
            var data = (try? handle.read(upToCount: min(size - read.offset, 1024 * limit))) ?? Data()
            if !data.contains(0x0A) { data += (try? handle.read(upToCount: size - read.offset - data.count)) ?? Data() }
            var start = data.startIndex
            while entries.count < limit, let newline = data[start...].firstIndex(of: 0x0A) {
                read.offset += newline - start + 1
                entries.append(Entry(line: data[start..<newline], end: read))
                start = newline + 1
            }
            if start == data.startIndex { break }  // a line still being written
        }
        return entries
    }

    /// Every event up to `position` was received: they go for good (the cursor is
    /// saved at most every `cursorSeconds`; `saveCursor` forces it).
    public func acknowledge(upTo position: Position, count: Int) {
        lock.lock()
        defer { lock.unlock() }
        guard acked < position else { return }
        acked = position
        pending = max(0, pending - count)
        // Segments wholly acknowledged (and not being written) are removed.
        for number in segments.keys.sorted() where number < acked.segment && number != writer?.number {
            segments[number] = nil
            unlink(path(number))
        }
        if Date().timeIntervalSince(lastCursor) >= cursorSeconds { writeCursor() }
    }

    /// Delivery failed: what was handed out and not acknowledged is handed out again,
    /// in order.
    public func rewind() {
        lock.lock()
        defer { lock.unlock() }
        read = acked
    }

    public func saveCursor() {
        lock.lock()
        defer { lock.unlock() }
        writeCursor()
    }

    private func writeCursor() {
        let temporary = directory + "/.cursor"
        let text = "\(acked.segment) \(acked.offset)\n"
        if FileManager.default.createFile(atPath: temporary, contents: Data(text.utf8)) {
            rename(temporary, directory + "/cursor")
        }
        lastCursor = Date()
    }
}
