import ArgumentParser
import Foundation
import Logging
import Service
import ServiceFiles

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run as a background service: spool jobs and live streams (see README and systemd/).",
        discussion: """
            Watches the spool's inbox/ for videos and job files, tracks up to `workers` \
            of them at once into logs/, and moves them to done/ or failed/; tracks the \
            configured live streams, reconnecting when they drop. Speaks systemd's \
            notify protocol when started by it (READY, WATCHDOG, STATUS, STOPPING). \
            SIGTERM / SIGINT: stop claiming, finish the current frame of every job, \
            end their logs as interrupted, exit 0 (unfinished jobs resume at the next \
            start). SIGHUP: reload the configuration for new jobs.
            """
    )

    @Option(help: ArgumentHelp("The configuration (JSON; every field has a default).", valueName: "file"))
    var config = "/etc/trackd/trackd.json"

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel = "info"

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
    }

    func run() async throws {
        CLI.quietFFmpeg()
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = JournalLogHandler(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "trackd")
        do {
            try await Daemon.run(configPath: config, version: Trackd.version, logger: logger)
        } catch {
            throw CLI.failure(error)
        }
    }
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what a running `trackd serve` is doing: jobs, streams, fps, errors.",
        discussion: """
            Reads the status file the daemon rewrites every second (statusFile, default \
            <spool>/status.json). Exit 0 while the daemon runs; 3, with one line saying why, \
            when it does not (no status file, or its process is gone), as `systemctl status` \
            does for an inactive unit; 1 on any other error.
            """
    )

    @Option(help: ArgumentHelp("The daemon's configuration, to find its status file.", valueName: "file"))
    var config = "/etc/trackd/trackd.json"

    @Option(name: .customLong("status-file"), help: ArgumentHelp("The status file itself.", valueName: "file"))
    var statusFile: String?

    @Flag(help: "Print the status file's JSON.")
    var json = false

    func run() throws {
        do {
            let path = try statusFile ?? ServiceConfig.load(config).statusPath
            guard let data = FileManager.default.contents(atPath: path) else {
                CLI.printError("trackd serve is not running: no status file at \(path)")
                throw ExitCode(3)
            }
            let status = try JSONDecoder().decode(ServiceState.Snapshot.self, from: data)
            // EPERM: the process exists but is another user's (a root daemon).
            guard kill(status.pid, 0) == 0 || errno == EPERM else {
                CLI.printError("trackd serve is not running: its process \(status.pid) is gone (last status \(status.updated))")
                throw ExitCode(3)
            }
            if json {
                print(CLI.json(status))
                return
            }
            print("trackd serve, pid \(status.pid), started \(status.started), updated \(status.updated)")
            print("jobs: \(status.jobs.count) running, \(status.completedJobs) done, \(status.failedJobs) failed")
            for j in status.jobs {
                print(
                    "  \(j.name): \(j.frames) frames, \(j.framesPerSecond) fps, since \(j.started)\(j.log.map { " -> " + $0 } ?? "")"
                )
            }
            print("streams: \(status.streams.count)")
            for s in status.streams {
                print(
                    "  \(s.name): \(s.state)\(s.silentSeconds.map { " for \($0) s" } ?? ""), \(s.frames) frames, \(s.framesPerSecond) fps, \(s.tracks) tracks, \(s.droppedFrames) dropped, "
                        + "\(s.reconnects) reconnects\(s.lastError.map { "; last error: \($0)" } ?? "")")
            }
            for r in status.receivers ?? [] {
                print(
                    "events to \(r.name): \(r.state), \(r.delivered) delivered, \(r.pending) waiting, \(r.dropped) dropped"
                        + (r.rejected.map { ", \($0) rejected" } ?? "")
                        + (r.state == .connected ? "" : r.lastError.map { "; last error: \($0)" } ?? ""))
            }
            if !status.errors.isEmpty {
                print("recent errors:")
                for e in status.errors.suffix(5) { print("  \(e)") }
            }
        } catch let code as ExitCode {
            throw code
        } catch {
            throw CLI.failure(error)
        }
    }
}
