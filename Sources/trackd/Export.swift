import ArgumentParser
import Foundation
import TrackLog

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert a track log to MOTChallenge results, CSV, or one JSON object per track.",
        discussion: """
            Streams the log in constant memory. mot: frame,id,left,top,width,height,score,-1,-1,-1 \
            (frames from 1). csv: a header row, then frame,time,id,class,class_id,score,left,top,\
            width,height,state. tracks: JSON lines, one per track: id, class, first and last \
            time and frame, frame count, mean score, path of box centres [time, x, y]. A log \
            cut short by a crash is exported up to its last complete line, with a warning. \
            --refine fills the gaps in each track offline (the log itself is left as it is).
            """
    )

    @Argument(help: ArgumentHelp("A track log (trackd.tracklog/1).", valueName: "log"))
    var log: String

    @Option(help: ArgumentHelp("What to write.", valueName: "format"))
    var format: ExportFormat

    @Option(help: ArgumentHelp("Where to write (default, or -: standard output).", valueName: "file"))
    var out: String?

    @OptionGroup var refinement: RefineArguments

    func run() throws {
        do {
            var files = FileRoles()
            files.input("log", log)
            files.output("--out", out)
            try files.check()
            let reader = try TrackLogReader(path: log)
            let refiner = refinement.refiner(maxLostSeconds: reader.header.tracker.maxLostSeconds)
            // A file is written beside its target and renamed at the end: no
            // half-written file (OutputFile).
            let destination = OutputFile(out ?? "-")
            let output = try TextOutput(destination)
            let summary: ExportSummary
            do {
                summary = try FrameExporter.export(reader, format: format, refiner: refiner) { try output.write($0) }
                try output.close()
                try destination.commit()
            } catch {
                destination.discard()
                throw error
            }
            if summary.truncated {
                CLI.printWarning(
                    "\(log) ends in a cut-off line (its run was killed, or its disk filled up); exported its \(summary.frames) complete frames"
                )
            } else if summary.unfinished {
                CLI.printWarning(
                    "\(log) has no end line (its run was killed, or its disk filled up); exported its \(summary.frames) frames")
            }
        } catch {
            throw CLI.failure(error)
        }
    }
}

/// Offline refinement, for `track --mot-out` results and for `export`.
struct RefineArguments: ParsableArguments {
    @Flag(
        help:
            "Refine offline: fill each track's gaps with boxes interpolated between its observations before and after (state interpolated), then smooth its boxes in time."
    )
    var refine = false

    @Option(
        name: .customLong("max-gap"),
        help: ArgumentHelp(
            "With --refine: fill gaps of at most this many seconds (default: the tracker's maxLostSeconds, the longest gap a track can have).",
            valueName: "seconds"))
    var maxGap: Double?

    @Option(help: ArgumentHelp("With --refine: the smoothing's standard deviation in seconds (0: none).", valueName: "seconds"))
    var smooth = 0.1

    func validate() throws {
        if let maxGap { guard maxGap > 0, maxGap.isFinite else { throw ValidationError("--max-gap must be positive") } }
        guard smooth >= 0, smooth.isFinite else { throw ValidationError("--smooth must not be negative") }
    }

    /// The refiner asked for; nil without --refine.
    func refiner(maxLostSeconds: Double) -> Refiner? {
        refine ? Refiner(maxGap: maxGap ?? maxLostSeconds, sigma: smooth) : nil
    }
}

extension ExportFormat: ExpressibleByArgument {}
