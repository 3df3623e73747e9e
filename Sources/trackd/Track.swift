import ArgumentParser
import Detection
import Foundation
import MOTFiles
import Tracking

struct Track: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Track objects, here from replayed MOTChallenge detections.",
        discussion: """
            Runs the tracker over the detections of a MOTChallenge det.txt
            (frame,id,x,y,w,h,score,...; frames from 1) and writes MOTChallenge
            results (frame,id,x,y,w,h,score,-1,-1,-1; ids from 1). Frame times come
            from the frame rate in --seqinfo (or --fps); every frame up to the
            sequence length is processed, with or without detections.
            """
    )

    @Option(help: ArgumentHelp("MOTChallenge det.txt to replay.", valueName: "det.txt"))
    var detections: String

    @Option(help: ArgumentHelp("The sequence's seqinfo.ini: frame rate and length.", valueName: "seqinfo.ini"))
    var seqinfo: String?

    @Option(help: "Frame rate when there is no --seqinfo.")
    var fps: Double = 30

    @Option(name: .customLong("mot-out"), help: ArgumentHelp("Where to write MOTChallenge results.", valueName: "results.txt"))
    var motOut: String

    @Option(help: ArgumentHelp("Tracker parameters as JSON; keys left out keep their defaults (see README).", valueName: "tracker.json"))
    var config: String?

    func validate() throws {
        guard fps > 0, fps.isFinite else { throw ValidationError("--fps must be positive") }
    }

    func run() throws {
        do {
            let info = try seqinfo.map(SequenceInfo.read)
            let replay = try ReplayDetector(path: detections)
            let frameRate = info?.frameRate ?? fps
            let frames = max(info?.length ?? 0, replay.lastFrame)
            // Fail on an unwritable output before doing any work.
            try Data().write(to: URL(fileURLWithPath: motOut))

            var tracker = Tracker(config: try config.map(Self.readConfig) ?? TrackerConfig())
            var lines: [String] = []
            var ids = Set<Int>()
            for frame in 1...max(frames, 1) {
                let objects = try tracker.update(replay.detections(frame: frame), time: Double(frame - 1) / frameRate)
                for o in objects {
                    ids.insert(o.id)
                    lines.append(MOTText.resultLine(MOTRecord(frame: frame, id: o.id, left: o.box.x1, top: o.box.y1,
                                                              width: o.box.width, height: o.box.height, confidence: o.score)))
                }
            }
            let text = lines.isEmpty ? "" : lines.joined(separator: "\n") + "\n"
            try Data(text.utf8).write(to: URL(fileURLWithPath: motOut), options: .atomic)
            print("tracked \(frames) frames: \(ids.count) tracks, \(lines.count) boxes -> \(motOut)")
        } catch {
            throw CLI.failure(error)
        }
    }

    static func readConfig(_ path: String) throws -> TrackerConfig {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ValidationError("\(path): cannot read the tracker configuration")
        }
        do {
            return try JSONDecoder().decode(TrackerConfig.self, from: data)
        } catch let DecodingError.dataCorrupted(context), let DecodingError.typeMismatch(_, context) {
            let key = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw ValidationError("\(path): \(key.isEmpty ? "" : key + ": ")\(context.debugDescription)")
        } catch {
            throw ValidationError("\(path): \(error)")
        }
    }
}
