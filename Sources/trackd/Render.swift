import Analytics
import ArgumentParser
import Foundation
import Render

struct RenderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Draw a track log over its video: boxes, ids and trails, one colour per track.",
        discussion: """
            Encodes with FFmpeg's libavcodec: H.264 (libx264) when available, else \
            MPEG-4; the container follows the output's extension (.mp4, .mkv, .avi). The \
            output covers the video up to the log's last frame (a warning says so when \
            the video goes on). A log whose header names another video (another picture \
            size, or a file of another size) is refused unless --force. The output is \
            written beside and renamed at the end: a failure leaves no partial video.
            """
    )

    @Argument(help: ArgumentHelp("The video that was tracked.", valueName: "video"))
    var video: String

    @Argument(help: ArgumentHelp("Its track log.", valueName: "log"))
    var log: String

    @Option(
        name: [.short, .long], help: ArgumentHelp("The video to write (-: Matroska on standard output).", valueName: "out.mp4"))
    var output: String

    @Option(help: ArgumentHelp("Seconds of trail drawn behind each track.", valueName: "seconds"))
    var trail: Double = 2

    @Flag(help: "Draw the log even if its header names another video.")
    var force = false

    @Option(
        help: ArgumentHelp(
            "Also draw these lines (with their in/out counts so far) and zones (with the tracks in them).",
            valueName: "analytics.json"))
    var analytics: String?

    func validate() throws {
        guard trail >= 0 else { throw ValidationError("--trail must not be negative") }
    }

    func run() throws {
        CLI.quietFFmpeg()
        let counting = try analytics.map(CLI.readAnalytics)
        do {
            var files = FileRoles()
            files.input("video", video)
            files.input("log", log)
            files.input("--analytics file", analytics)
            files.output("-o", output)
            try files.check()
            var renderer = Renderer()
            renderer.trailSeconds = trail
            renderer.force = force
            renderer.analytics = counting
            let summary = try renderer.render(video: video, log: log, output: output)
            if let end = summary.logEndedAt {
                CLI.printWarning(
                    "\(log) ends at frame \(end.frame) (\(end.time) s), before the video does: the output stops there")
            }
            if summary.framesPastTheVideo > 0 {
                CLI.printWarning("\(video) ends before \(log): its last \(summary.framesPastTheVideo) frames were not drawn")
            }
            // With the video on standard output, the summary goes to standard error.
            let line = "rendered \(summary.frames) frames, \(summary.boxes) boxes (\(summary.codec)) -> \(output)\n"
            if output == "-" {
                FileHandle.standardError.write(Data(line.utf8))
            } else {
                print(line, terminator: "")
            }
        } catch let error as AnalyticsConfig.ReadError {
            CLI.printError("\(analytics ?? ""): \(error)")
            throw ExitCode(64)
        } catch {
            throw CLI.failure(error)
        }
    }
}
