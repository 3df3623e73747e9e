import Analytics
import ArgumentParser
import Foundation
import MOTFiles
import ServiceFiles
import TrackLog
import Tracking

struct Analyze: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Count line crossings, zone visits, loitering and speeds in a track log or MOTChallenge results.",
        discussion: """
            Runs the analytics of --analytics (lines, zones, speed; see the README) over \
            the tracks of an existing log, with the rules `trackd track --analytics` uses \
            online: the same tracks give the same events. With --mot, over MOTChallenge \
            results or ground truth instead (frames from 1 at --seqinfo's frame rate; in \
            ground truth, only pedestrians that count), so that true counts come from \
            ground truth through the same code.

            --format text (default) prints the counts per line, zone and class; json one \
            object {"lines": {NAME: {"in": {CLASS: N}, "out": {...}}}, "zones": {NAME: \
            {"entered": {...}, "loitered": {...}}}, "events": N}; csv one row per count \
            (what,name,count,class,n); events every event as a JSON line, as the log has them.
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json, csv, events
    }

    @Argument(help: ArgumentHelp("A track log (trackd.tracklog/1).", valueName: "log"))
    var log: String?

    @Option(help: ArgumentHelp("Lines, zones and speed to count (JSON).", valueName: "analytics.json"))
    var analytics: String

    @Option(help: ArgumentHelp("MOTChallenge results or gt.txt, instead of a log.", valueName: "results.txt"))
    var mot: String?

    @Option(help: ArgumentHelp("With --mot: the sequence's seqinfo.ini (frame rate, picture size).", valueName: "seqinfo.ini"))
    var seqinfo: String?

    @Option(help: "What to print.")
    var format: Format = .text

    func validate() throws {
        guard (log == nil) != (mot == nil) else { throw ValidationError("give a track log or --mot results.txt (one of them)") }
        if mot != nil, seqinfo == nil { throw ValidationError("--mot needs --seqinfo (the frame rate gives the tracks' times)") }
    }

    func run() throws {
        let config = try CLI.readAnalytics(analytics)
        do {
            var files = FileRoles()
            files.input("log", log)
            files.input("--mot file", mot)
            files.input("--seqinfo file", seqinfo)
            files.input("--analytics file", analytics)
            try files.check()
            var engine: Analytics
            var events: [LogEvent] = []
            if let log {
                let reader = try TrackLogReader(path: log)
                let header = reader.header
                engine = try place(
                    config, width: header.video.width, height: header.video.height, classes: header.detector.classes,
                    maxLostSeconds: header.tracker.maxLostSeconds)
                var fields = FrameFields()
                while let line = try reader.read(into: &fields) {
                    if case .frame = line { events += engine.update(LogFrame(fields)) }
                }
                if reader.truncatedTail { CLI.printWarning("\(log) ends in a cut-off line; analysed its complete frames") }
            } else {
                let sequence = try SequenceInfo.read(seqinfo!)
                engine = try place(
                    config, width: sequence.width, height: sequence.height, classes: [],
                    maxLostSeconds: TrackerConfig().maxLostSeconds)
                for frame in Self.frames(try MOTText.read(mot!), frameRate: sequence.frameRate) {
                    events += engine.update(frame)
                }
            }
            events += engine.finish()
            print(Self.report(engine.totals, events: events, format: format), terminator: "")
        } catch let error as ExitCode {
            throw error
        } catch {
            throw CLI.failure(error)
        }
    }

    private func place(_ config: AnalyticsConfig, width: Int, height: Int, classes: [String], maxLostSeconds: Double) throws
        -> Analytics
    {
        do {
            return Analytics(
                config: try config.resolved(width: width, height: height, classes: classes), maxLostSeconds: maxLostSeconds)
        } catch {
            CLI.printError("\(analytics): \(error)")
            throw ExitCode(64)
        }
    }

    /// MOTChallenge rows as logged frames, frame by frame: frame N at index N − 1 and
    /// time (N − 1) / fps, every row a confirmed person. Ground truth's rows that do
    /// not count (flag 0, or a class other than pedestrian) are left out.
    static func frames(_ records: [MOTRecord], frameRate: Double) -> [LogFrame] {
        let counted = records.filter { r in
            guard let cls = r.classID, cls != -1 else { return true }
            return cls == 1 && r.confidence != 0
        }
        let byFrame = Dictionary(grouping: counted, by: \.frame)
        return byFrame.keys.sorted().map { n in
            LogFrame(
                frame: n - 1, time: Double(n - 1) / frameRate,
                tracks: byFrame[n]!.sorted { $0.id < $1.id }.map { r in
                    LogTrack(
                        id: r.id, class: "person", classId: 0, score: 1, box: [r.left, r.top, r.width, r.height],
                        state: "confirmed")
                })
        }
    }

    static func report(_ totals: EventTotals, events: [LogEvent], format: Format) -> String {
        switch format {
        case .json:
            return CLI.json(totals) + "\n"
        case .events:
            return events.map { $0.jsonLine + "\n" }.joined()
        case .csv:
            var rows = ["what,name,count,class,n"]
            for (name, line) in totals.lines.sorted(by: { $0.key < $1.key }) {
                for (count, classes) in [("in", line.in), ("out", line.out)] {
                    for (cls, n) in classes.sorted(by: { $0.key < $1.key }) {
                        rows.append("line,\(csv(name)),\(count),\(csv(cls)),\(n)")
                    }
                }
            }
            for (name, zone) in totals.zones.sorted(by: { $0.key < $1.key }) {
                for (count, classes) in [("entered", zone.entered), ("loitered", zone.loitered)] {
                    for (cls, n) in classes.sorted(by: { $0.key < $1.key }) {
                        rows.append("zone,\(csv(name)),\(count),\(csv(cls)),\(n)")
                    }
                }
            }
            return rows.joined(separator: "\n") + "\n"
        case .text:
            return summary(totals).map { $0 + "\n" }.joined()
        }
    }

    /// One line per line and zone: `line door: in 3 (person 3), out 1 (person 1)`.
    static func summary(_ totals: EventTotals) -> [String] {
        func counted(_ classes: [String: Int]) -> String {
            let total = classes.values.reduce(0, +)
            guard total > 0 else { return "0" }
            return "\(total) (" + classes.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + ")"
        }
        return totals.lines.sorted { $0.key < $1.key }.map {
            "line \($0.key): in \(counted($0.value.in)), out \(counted($0.value.out))"
        }
            + totals.zones.sorted { $0.key < $1.key }.map {
                "zone \($0.key): entered \(counted($0.value.entered)), loitered \(counted($0.value.loitered))"
            }
    }

    private static func csv(_ field: String) -> String {
        field.contains(where: { ",\"\n\r".contains($0) })
            ? "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : field
    }
}

extension CLI {
    /// An analytics configuration file, or a usage error (exit 64) naming the key.
    static func readAnalytics(_ path: String) throws -> AnalyticsConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("\(path): cannot read the analytics configuration")
        }
        do {
            return try AnalyticsConfig(object: try StrictJSON.object(data))
        } catch let error as StrictJSON.Refusal {
            throw ValidationError("\(path) \(error.reason)")
        } catch {
            throw ValidationError("\(path): \(error)")
        }
    }
}
