import ArgumentParser
import Foundation
import Pipeline

/// Turns signals into requests on a `StopSignal`.
///
/// The handlers are installed with sigaction before `install` returns, so no signal
/// sent afterwards is lost (a DispatchSource registers with the kernel later, on
/// its own queue: a signal in between met SIG_IGN and vanished). A handler only
/// writes the signal's number to a pipe, which is async-signal-safe; a thread reads
/// the pipe and asks `stop`.
enum StopOnSignals {
    /// The pipe's write end, set once before any handler can run.
    nonisolated(unsafe) private static var writeEnd: Int32 = -1

    static func install(_ signals: [Int32], stop: StopSignal) throws {
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else {
            CLI.printError("cannot set up signal handling: \(String(cString: strerror(errno)))")
            throw ExitCode.failure
        }
        // A full pipe drops a signal rather than block the handler.
        _ = fcntl(ends[1], F_SETFL, fcntl(ends[1], F_GETFL) | O_NONBLOCK)
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        writeEnd = ends[1]
        let readEnd = ends[0]
        Thread.detachNewThread {
            var number: UInt8 = 0
            while read(readEnd, &number, 1) == 1 { stop.request(Int32(number)) }
        }
        for signalNumber in signals {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { number in
                var byte = UInt8(truncatingIfNeeded: number)
                _ = write(StopOnSignals.writeEnd, &byte, 1)
            }
            action.sa_flags = SA_RESTART
            sigemptyset(&action.sa_mask)
            sigaction(signalNumber, &action, nil)
        }
    }
}
