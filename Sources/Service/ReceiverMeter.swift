import Foundation
import Metrics
import ServiceFiles
import VideoIO

/// A receiver's figures (delivered, waiting, dropped at the outbox's bound, refused by
/// the receiver) brought to `/metrics` and the status at most twice a second, from the
/// totals its delivery loop keeps.
final class ReceiverMeter {
    private let name: String
    private let outbox: Outbox
    private let state: ServiceState
    private let delivered: Counter
    private let dropped: Counter
    private let rejected: Counter?
    private let pending: Gauge
    private var reported = (time: -Double.infinity, delivered: 0, dropped: 0, rejected: 0)

    /// `rejects`: whether the receiver may refuse an event (a webhook's 4xx).
    init(receiver name: String, outbox: Outbox, state: ServiceState, rejects: Bool = false) {
        self.name = name
        self.outbox = outbox
        self.state = state
        let dimensions = [("receiver", name)]
        delivered = Counter(label: "trackd_events_delivered_total", dimensions: dimensions)
        dropped = Counter(label: "trackd_events_dropped_total", dimensions: dimensions)
        rejected = rejects ? Counter(label: "trackd_events_rejected_total", dimensions: dimensions) : nil
        pending = Gauge(label: "trackd_events_pending", dimensions: dimensions)
        reported.dropped = outbox.dropped
    }

    /// `now`: whatever the time since the last report (when stopping).
    func report(delivered total: Int, rejected refused: Int = 0, now: Bool = false) {
        let time = monotonicSeconds()
        guard now || time - reported.time >= 0.5 else { return }
        let lost = outbox.dropped
        if total > reported.delivered { delivered.increment(by: total - reported.delivered) }
        if lost > reported.dropped { dropped.increment(by: lost - reported.dropped) }
        if refused > reported.rejected { rejected?.increment(by: refused - reported.rejected) }
        reported = (time, total, lost, refused)
        let waiting = outbox.pending
        pending.record(waiting)
        state.update(receiver: name) { [rejects = rejected != nil] in
            $0.pending = waiting
            $0.dropped = lost
            $0.delivered = total
            if rejects { $0.rejected = refused }
        }
    }
}
