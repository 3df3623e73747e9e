import ArgumentParser
import Foundation
import VideoIO

@main
struct Trackd: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "trackd",
        abstract: "Track objects in video: frames in, a log of tracked objects out.",
        version: version,
        subcommands: [
            Probe.self, Detect.self, Track.self, Analyze.self, Export.self, RenderCommand.self, Eval.self, Serve.self, Status.self
        ]
    )

    /// argument-parser's own `main`, with every failure as one `trackd: error:` line:
    /// usage is printed only for `--help` and an empty command line. Standard output
    /// is checked at the end, so output lost to a full disk is an error, not exit 0.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            // Help, --version, and the exit codes of failures already reported.
            if code == .success || error is ExitCode { exit(withError: error) }
            CLI.printError(message(for: error))
            exit(withError: ExitCode(code.rawValue))
        }
        CLI.checkStandardOutput()
    }
}

/// What every command does first and last: FFmpeg kept quiet unless asked, and
/// failures reported as one line on stderr with a non-zero exit.
enum CLI {
    /// `TRACKD_FFMPEG_LOG=error|warning|info|debug` lets FFmpeg's own messages through.
    static func quietFFmpeg() {
        let level: FFmpegLogLevel
        switch ProcessInfo.processInfo.environment["TRACKD_FFMPEG_LOG"] {
        case "error": level = .error
        case "warning": level = .warning
        case "info": level = .info
        case "debug": level = .debug
        default: level = .quiet
        }
        level.apply()
    }

    /// Parses repeated `key=value` arguments.
    static func keyValues(_ items: [String], option: String) throws -> [String: String] {
        var result: [String: String] = [:]
        for item in items {
            guard let eq = item.firstIndex(of: "="), eq != item.startIndex else {
                throw ValidationError("\(option) expects key=value, got '\(item)'")
            }
            result[String(item[..<eq])] = String(item[item.index(after: eq)...])
        }
        return result
    }

    /// One line of JSON with keys in a stable order, for scripts.
    static func json(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Reports hold strings and finite numbers only, which always encode.
        return String(decoding: try! encoder.encode(value), as: UTF8.self)
    }

    static func printWarning(_ message: String) {
        FileHandle.standardError.write(
            Data(("trackd: warning: " + message.replacingOccurrences(of: "\n", with: " ") + "\n").utf8))
    }

    static func printError(_ message: String) {
        let line = "trackd: error: " + message.replacingOccurrences(of: "\n", with: " ") + "\n"
        FileHandle.standardError.write(Data(line.utf8))
    }

    /// Reports `error` and gives the exit code to leave with.
    static func failure(_ error: any Error) -> ExitCode {
        printError(String(describing: error))
        return ExitCode.failure
    }
}
