import Foundation
import Logging
import ServiceLifecycle

/// Once a second: writes the status file (atomically, for `trackd status`), tells
/// systemd the status line, and feeds its watchdog — but only while no running job
/// or tracking stream has gone `stallSeconds` without a frame, so a hung decoder or
/// detector lets the watchdog restart the service. Says STOPPING=1 when the
/// graceful shutdown begins.
final class StatusService: Service, @unchecked Sendable {
    private let state: ServiceState
    private let config: ConfigBox
    private let notifier: Notifier
    private let logger: Logger

    init(state: ServiceState, config: ConfigBox, notifier: Notifier, logger: Logger) {
        self.state = state
        self.config = config
        self.notifier = notifier
        self.logger = logger
    }

    func run() async throws {
        let shutdown = Flag()
        var warnedStall = false
        await withGracefulShutdownHandler {
            while !shutdown.isSet {
                write()
                let stall = state.longestStall
                let limit = config.current.stallSeconds
                if stall < limit {
                    notifier.notify("WATCHDOG=1", "STATUS=" + state.summary)
                    warnedStall = false
                } else {
                    if !warnedStall { logger.error("no frame processed for \(Int(stall)) s: not feeding the watchdog") }
                    warnedStall = true
                    notifier.notify("STATUS=stalled: no frame for \(Int(stall)) s; " + state.summary)
                }
                try? await Task.sleep(nanoseconds: 1_000_000_000)
            }
        } onGracefulShutdown: { [notifier, logger] in
            notifier.notify("STOPPING=1", "STATUS=stopping: finishing the current frames")
            logger.info("stopping: running jobs finish their current frame and stay in processing/")
            shutdown.set()
        }
        write()
    }

    private func write() {
        let path = config.current.statusPath
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        guard let data = try? encoder.encode(state.snapshot) else { return }
        let partial = path + ".partial"
        if FileManager.default.createFile(atPath: partial, contents: data + Data("\n".utf8)), rename(partial, path) == 0 {
            return
        }
        logger.warning("cannot write the status file \(path)")
    }
}
