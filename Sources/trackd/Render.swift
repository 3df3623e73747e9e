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
            output covers the video up to the log's last frame.
            """
    )

    @Argument(help: ArgumentHelp("The video that was tracked.", valueName: "video"))
    var video: String

    @Argument(help: ArgumentHelp("Its track log.", valueName: "log"))
    var log: String

    @Option(name: [.short, .long], help: ArgumentHelp("The video to write.", valueName: "out.mp4"))
    var output: String

    @Option(help: ArgumentHelp("Seconds of trail drawn behind each track.", valueName: "seconds"))
    var trail: Double = 2

    func validate() throws {
        guard trail >= 0 else { throw ValidationError("--trail must not be negative") }
    }

    func run() throws {
        CLI.quietFFmpeg()
        do {
            var files = FileRoles()
            files.input("video", video)
            files.input("log", log)
            files.output("-o", output)
            try files.check()
            var renderer = Renderer()
            renderer.trailSeconds = trail
            let summary = try renderer.render(video: video, log: log, output: output)
            print("rendered \(summary.frames) frames, \(summary.boxes) boxes (\(summary.codec)) -> \(output)")
        } catch {
            throw CLI.failure(error)
        }
    }
}
