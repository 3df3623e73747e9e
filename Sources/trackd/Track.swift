import Analytics
import ArgumentParser
import Detection
import Dispatch
import Foundation
import MOTFiles
import Pipeline
import Tracking

struct Track: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Track objects in a video, or in replayed MOTChallenge detections.",
        discussion: """
            With a video: decodes it (frames decoded ahead on their own thread), runs the \
            detector on every --stride-th frame, tracks, and appends every processed \
            frame to a JSON-lines track log (schema trackd.tracklog/1, docs/track-log.md) \
            and/or MOTChallenge results. Without --out or --mot-out the log goes to \
            <video name>.tracks.jsonl here.

            With --detections: the tracker runs over a MOTChallenge det.txt instead \
            (frames from 1, times from --seqinfo's frame rate or --fps); no video needed.

            On a terminal a progress line shows frames, speed, elapsed time, ETA and live \
            tracks; otherwise only errors and a final summary are printed. SIGINT, \
            SIGTERM or SIGHUP stops after the current frame, or ends a wait on a silent \
            source: the log ends with status 'interrupted' and trackd exits with 130, \
            143 or 129.
            """
    )

    @Argument(help: ArgumentHelp("The video (any file or URL FFmpeg opens).", valueName: "video"))
    var video: String?

    @OptionGroup var detector: DetectorArguments

    @Option(help: ArgumentHelp("Track log to write (JSON lines).", valueName: "log.jsonl"))
    var out: String?

    @Option(name: .customLong("mot-out"), help: ArgumentHelp("MOTChallenge results to write.", valueName: "results.txt"))
    var motOut: String?

    @OptionGroup var refinement: RefineArguments

    @Option(
        help: ArgumentHelp(
            "Lines, zones and speed to count (JSON, see README); events go to the log.", valueName: "analytics.json"))
    var analytics: String?

    @Option(
        help: ArgumentHelp(
            "Tracker parameters as JSON; keys left out keep their defaults (see README).", valueName: "tracker.json"))
    var config: String?

    @Option(help: "Run the detector on every N-th frame only.")
    var stride: Int = 1

    @Option(help: ArgumentHelp("Start at this time in the video.", valueName: "seconds"))
    var start: Double?

    @Option(help: ArgumentHelp("Stop after this time in the video.", valueName: "seconds"))
    var end: Double?

    @Option(
        name: [.customShort("o"), .customLong("input-option")],
        help: ArgumentHelp("An FFmpeg demuxer/protocol option, as before -i in ffmpeg (repeatable).", valueName: "key=value"))
    var inputOptions: [String] = []

    @Option(help: ArgumentHelp("MOTChallenge det.txt to replay instead of a video.", valueName: "det.txt"))
    var detections: String?

    @Option(
        help: ArgumentHelp("With --detections: the sequence's seqinfo.ini (frame rate, length, size).", valueName: "seqinfo.ini"))
    var seqinfo: String?

    @Option(help: "With --detections and no --seqinfo: the frame rate.")
    var fps: Double = 30

    func validate() throws {
        guard (video == nil) != (detections == nil) else {
            throw ValidationError("give a video or --detections det.txt (one of them)")
        }
        guard stride >= 1 else { throw ValidationError("--stride must be at least 1") }
        guard fps > 0, fps.isFinite else { throw ValidationError("--fps must be positive") }
        if let start, let end, end < start { throw ValidationError("--end must not be before --start") }
        if let start, start < 0 { throw ValidationError("--start must not be negative") }
        if refinement.refine, motOut == nil {
            throw ValidationError("--refine refines the --mot-out results; for a log, use trackd export --refine")
        }
    }

    func run() throws {
        CLI.quietFFmpeg()
        let stop = StopSignal()
        try StopOnSignals.install([SIGINT, SIGTERM, SIGHUP], stop: stop)

        let result: RunResult
        let logPath: String?
        // A bad configuration is a usage error (exit 64), found before any work.
        let counting = try analytics.map(CLI.readAnalytics)
        do {
            let trackerConfig = try config.map(Self.readConfig) ?? TrackerConfig()
            logPath = out ?? (motOut == nil ? Self.defaultLogPath(for: video ?? detections!) : nil)
            var files = FileRoles()
            files.input("input video", video)
            files.input("--detections file", detections)
            files.input("--seqinfo file", seqinfo)
            files.input("--config file", config)
            files.input("--analytics file", analytics)
            files.input("--model file", detector.model)
            files.input("--labels file", detector.labels)
            files.output(out == nil ? "the track log" : "--out", logPath)
            files.output("--mot-out", motOut)
            try files.check()
            // Outputs first: an unwritable path fails before the model is loaded.
            let outputs = try RunOutputs(
                logPath: logPath, motPath: motOut,
                refiner: refinement.refiner(maxLostSeconds: trackerConfig.maxLostSeconds))
            let source: any DetectionSource
            do {
                source = try openSource(stop: stop, keepsPictures: trackerConfig.visual)
            } catch {
                outputs.discard()
                // A signal while the source was opening (a silent URL) ends the wait.
                if let signal = stop.requested { throw Interrupted(signal: signal) }
                throw error
            }
            if let turn = source.video.rotation {
                CLI.printWarning(
                    "\(video ?? ""): the picture is to be turned \(turn)° clockwise for display (its display matrix); "
                        + "trackd tracks it as stored, so the log's boxes are in the stored picture (video.rotation in its header)"
                )
            }
            let progress = isatty(STDERR_FILENO) == 1 ? ProgressLine() : nil
            result = try TrackRun(tracker: trackerConfig, trackdVersion: Trackd.version, analytics: counting)
                .run(source, outputs: outputs, stop: stop, progress: progress.map { line in { line.show($0) } })
            progress?.clear()
        } catch let error as AnalyticsConfig.ReadError {
            // Its classes, checked against the detector's once the model is loaded.
            CLI.printError("\(analytics ?? ""): \(error)")
            throw ExitCode(64)
        } catch let interrupted as Interrupted {
            FileHandle.standardError.write(Data("trackd: interrupted before the video opened; no log written\n".utf8))
            throw ExitCode(128 + interrupted.signal)
        } catch {
            throw CLI.failure(error)
        }

        let repairs = result.decodeStats
        if repairs.repairedTimes > 0 || repairs.missingFrames > 0 {
            func frames(_ n: Int) -> String { n == 1 ? "1 frame" : "\(n) frames" }
            let what = [
                repairs.repairedTimes > 0
                    ? "\(frames(repairs.repairedTimes)) with a time that repeated or went back, "
                        + "placed one frame duration after the previous frame" : nil,
                repairs.missingFrames > 0 ? "\(frames(repairs.missingFrames)) of those it declares never decoded" : nil
            ]
            CLI.printWarning("\(video ?? ""): damaged index: \(what.compactMap { $0 }.joined(separator: "; "))")
        }
        let target = [logPath, motOut].compactMap { $0 }.joined(separator: ", ")
        let figures = String(
            format: "%d frames in %.1f s (%.1f fps): %d tracks -> %@", result.frames, result.wallSeconds,
            result.wallSeconds > 0 ? Double(result.frames) / result.wallSeconds : 0, result.tracks, target)
        // With an output on standard output, the summary goes to standard error.
        let say: (String) -> Void =
            [logPath, motOut].contains("-") ? { FileHandle.standardError.write(Data(($0 + "\n").utf8)) } : { print($0) }
        let counts = result.totals.map(Analyze.summary) ?? []
        switch result.status {
        case .complete:
            say("tracked " + figures)
            for line in counts { say("  " + line) }
        case .interrupted:
            say("interrupted after " + figures)
            for line in counts { say("  " + line) }
            throw ExitCode(128 + (result.signal ?? SIGINT))
        case .failed:
            CLI.printError((result.error ?? "failed") + " (logged \(figures))")
            throw ExitCode.failure
        }
    }

    /// A stop that came before the source was open.
    private struct Interrupted: Error {
        let signal: Int32
    }

    /// `keepsPictures`: for the tracker's visual predictors.
    private func openSource(stop: StopSignal, keepsPictures: Bool) throws -> any DetectionSource {
        guard let video else {
            return try ReplaySource(path: detections!, sequence: try seqinfo.map(SequenceInfo.read), frameRate: fps)
        }
        let options = detector.options
        return try VideoSource(
            path: video, detector: try loadDetector(options), options: options,
            selection: FrameSelection(stride: stride, start: start, end: end),
            formatOptions: try CLI.keyValues(inputOptions, option: "--input-option"), keepsPictures: keepsPictures,
            stop: stop)
    }

    static func defaultLogPath(for input: String) -> String {
        let name = URL(fileURLWithPath: input).deletingPathExtension().lastPathComponent
        return (name.isEmpty ? "trackd" : name) + ".tracks.jsonl"
    }

    static func readConfig(_ path: String) throws -> TrackerConfig {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ValidationError("\(path): cannot read the tracker configuration")
        }
        do {
            return try TrackerConfig(json: data)
        } catch {
            throw ValidationError("\(path): \(error)")
        }
    }
}

/// The progress line on a terminal: frames, speed, elapsed, ETA, live tracks,
/// redrawn at most four times a second.
final class ProgressLine {
    private var lastDrawn = Date.distantPast

    func show(_ p: RunProgress) {
        guard Date().timeIntervalSince(lastDrawn) >= 0.25 else { return }
        lastDrawn = Date()
        var text = "frames \(p.frames)"
        if let total = p.expectedFrames { text += "/\(total)" }
        text += String(format: "  %.1f fps  %@ elapsed", p.framesPerSecond, Self.clock(p.elapsed))
        if let total = p.expectedFrames, p.framesPerSecond > 0, total > p.frames {
            text += "  ETA " + Self.clock(Double(total - p.frames) / p.framesPerSecond)
        }
        text += "  \(p.tracksAlive) tracks"
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + text).utf8))
    }

    func clear() {
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }

    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600
            ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}
