import Foundation

/// A stop request shared between a signal handler (or a service's shutdown) and a
/// running job.
public final class StopSignal: Sendable {
    private let signal = Locked<Int32?>(nil)
    /// False once what is tracked may no longer be (a fleet's lease not renewed in
    /// time): a stop then, asked by the tracking thread itself before its next frame.
    private let valid: (@Sendable () -> Bool)?

    public init(while valid: (@Sendable () -> Bool)? = nil) {
        self.valid = valid
    }

    /// Asks the job to stop after the current frame; `signal` is the reason.
    public func request(_ signal: Int32) {
        self.signal.withLock { if $0 == nil { $0 = signal } }
    }

    /// The signal that asked for a stop, if any.
    public var requested: Int32? {
        if let valid, !valid() { request(SIGTERM) }
        return signal.value
    }

    /// Waits `seconds`, or less if a stop is requested meanwhile.
    public func sleep(_ seconds: Double) {
        signal.wait(atMost: seconds) { $0 != nil }
    }
}
