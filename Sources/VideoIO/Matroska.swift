import Glibc

/// The size a Matroska (or WebM) file declares for itself: its Segment element's
/// end, read from the first bytes of the file. A file cut short ends before it;
/// FFmpeg's demuxer then only logs "File ended prematurely" and reports a normal end.
enum MatroskaSegment {
    /// The byte offset where the file's first Segment ends, or nil when the file
    /// does not start with an EBML header and a Segment of known size (a live
    /// recording writes an "unknown" size).
    static func declaredEnd(ofFile path: String) -> Int64? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var head = [UInt8](repeating: 0, count: 4096)
        let count = head.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard count > 0 else { return nil }
        return declaredEnd(head: Array(head.prefix(count)))
    }

    static func declaredEnd(head bytes: [UInt8]) -> Int64? {
        var at = 0
        // An element ID keeps its length marker; the size is a variable-length integer.
        func element() -> (id: UInt32, size: UInt64?)? {
            guard let (idLength, _) = vint(at), idLength <= 4 else { return nil }
            let id = bytes[at..<at + idLength].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            at += idLength
            guard let (sizeLength, size) = vint(at) else { return nil }
            at += sizeLength
            let unknown = size == (UInt64(1) << (7 * UInt64(sizeLength))) - 1
            return (id, unknown ? nil : size)
        }
        func vint(_ start: Int) -> (length: Int, value: UInt64)? {
            guard start < bytes.count, bytes[start] != 0 else { return nil }
            let length = bytes[start].leadingZeroBitCount + 1
            guard start + length <= bytes.count else { return nil }
            var value = UInt64(bytes[start] & (0xFF >> length))
            for b in bytes[start + 1..<start + length] { value = value << 8 | UInt64(b) }
            return (length, value)
        }
        guard let header = element(), header.id == 0x1A45_DFA3, let headerSize = header.size else { return nil }
        at += Int(headerSize)
        guard let segment = element(), segment.id == 0x1853_8067, let size = segment.size else { return nil }
        return Int64(at) + Int64(size)
    }
}
