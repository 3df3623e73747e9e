import Foundation
import Logging
import Pipeline
import ServiceFiles
import ServiceLifecycle

/// Once a second: writes the status file (atomically, for `trackd status`), tells
/// systemd the status line, and feeds its watchdog — but only while no running job
/// and no stream holding a frame has gone `stallSeconds` without progress, so a hung
/// decoder, detector or disk lets the watchdog restart the service. A stream whose
/// source is silent or reconnecting is waiting, not stalled: the status reports it
/// (`silent`, `retrying`) and the watchdog is still fed. Says STOPPING=1 when the
/// graceful shutdown begins.
final class StatusService: Service, Sendable {
    private let state: ServiceState
    private let config: Locked<ServiceConfig>
    private let notifier: Notifier
    private let logger: Logger

    init(state: ServiceState, config: Locked<ServiceConfig>, notifier: Notifier, logger: Logger) {
        self.state = state
        self.config = config
        self.notifier = notifier
        self.logger = logger
    }

    func run() async throws {
        // Once a second until the graceful shutdown (or a cancellation) ends the wait.
        try? await cancelWhenGracefulShutdown { [self] in
            var warnedStall = false
            var silent = Set<String>()
            while true {
                report(warnedStall: &warnedStall, silent: &silent)
                try await Task.sleep(nanoseconds: 1_000_000_000)
            }
        }
        notifier.notify("STOPPING=1", "STATUS=stopping: finishing the current frames")
        logger.info("stopping: running jobs finish their current frame and stay in processing/")
        write()
    }

    private func report(warnedStall: inout Bool, silent: inout Set<String>) {
        write()
        let limit = config.value.stallSeconds
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
        let silentNow = Set(state.snapshot.streams.filter { $0.state == .silent }.map(\.name))
        for name in silentNow.subtracting(silent).sorted() {
            logger.warning("stream \(name): its source has sent nothing for \(Int(ServiceState.silentAfter)) s")
        }
        silent = silentNow
    }

    private func write() {
        let path = config.value.statusPath
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
