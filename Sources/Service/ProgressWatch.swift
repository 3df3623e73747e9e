import Foundation
import Pipeline
import VideoIO

/// Ends a job that makes no progress: no frame within `limit` seconds of its start or
/// of its previous frame (a server that trickles a byte a second never trips the
/// network timeout, yet never gives a frame). It asks the job's stop, which also ends
/// FFmpeg's wait on the source through its interrupt callback.
/// (Unchecked: a dispatch source may be cancelled from any thread.)
final class ProgressWatch: @unchecked Sendable {
    private let limit: Double
    private let last = Locked(monotonicSeconds())
    private let fired = Locked(false)
    private let timer: any DispatchSourceTimer

    init(limit: Double, stop: StopSignal) {
        self.limit = limit
        timer = DispatchSource.makeTimerSource(queue: .global())
        timer.schedule(deadline: .now() + 0.25, repeating: 0.25)
        timer.setEventHandler { [last, fired, timer] in
            guard monotonicSeconds() - last.value > limit else { return }
            fired.value = true
            stop.request(SIGALRM)
            timer.cancel()
        }
        timer.resume()
    }

    /// A frame came.
    func advanced() { last.value = monotonicSeconds() }

    /// Why the watch stopped the job; nil if it did not.
    var failure: String? {
        let seconds = limit == limit.rounded() ? String(Int(limit)) : String(limit)
        return fired.value ? "no frame in \(seconds) s (stallSeconds): the source sends too slowly, or nothing that decodes" : nil
    }

    deinit { timer.cancel() }
}
