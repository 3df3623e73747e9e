import Foundation
import Logging
import ServiceLifecycle

/// Once a second: writes the status file (atomically, for `trackd status`), tells
/// systemd the status line, and feeds its watchdog — but only while no running job
/// and no stream holding a frame has gone `stallSeconds` without progress, so a hung
/// decoder, detector or disk lets the watchdog restart the service. A stream whose
/// source is silent or reconnecting is waiting, not stalled: the status reports it
/// (`silent`, `retrying`) and the watchdog is still fed. Says STOPPING=1 when the
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
        var silent = Set<String>()
        await withGracefulShutdownHandler {
            while !shutdown.isSet {
                write()
                let limit = config.current.stallSeconds
                if let stalled = state.stall, stalled.seconds >= limit {
                    if !warnedStall {
                        logger.error("\(stalled.who) has not advanced for \(Int(stalled.seconds)) s: not feeding the watchdog")
                    }
                    warnedStall = true
                    notifier.notify("STATUS=stalled: \(stalled.who) has not advanced for \(Int(stalled.seconds)) s; " + state.summary)
                } else {
                    warnedStall = false
                    notifier.notify("WATCHDOG=1", "STATUS=" + state.summary)
                }
                let silentNow = Set(state.snapshot.streams.filter { $0.state == "silent" }.map(\.name))
                for name in silentNow.subtracting(silent).sorted() {
                    logger.warning("stream \(name): its source has sent nothing for \(Int(ServiceState.silentAfter)) s")
                }
                silent = silentNow
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
