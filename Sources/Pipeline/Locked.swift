import Foundation

/// A value shared between threads, read and changed only under its lock; a thread may
/// also wait until the value is as it needs (every change wakes the waiters). The one
/// lock type of trackd's concurrent code.
public final class Locked<Value>: @unchecked Sendable {
    private let condition = NSCondition()
    private var stored: Value

    public init(_ value: Value) { stored = value }

    public var value: Value {
        get { withLock { $0 } }
        set { withLock { $0 = newValue } }
    }

    @discardableResult
    public func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        condition.lock()
        defer {
            condition.broadcast()
            condition.unlock()
        }
        return try body(&stored)
    }

    /// Waits until `ready` holds, or at most `seconds`; whether it holds.
    @discardableResult
    public func wait(atMost seconds: Double, until ready: (Value) -> Bool) -> Bool {
        let deadline = Date(timeIntervalSinceNow: seconds)
        condition.lock()
        defer { condition.unlock() }
        while !ready(stored) {
            if !condition.wait(until: deadline) { return ready(stored) }
        }
        return true
    }
}

/// A value handed to another thread, which takes it out: the value is then let go
/// when that thread is done with it, not whenever the closure that carried it is
/// freed (after the thread has said it is done). An inference request freed that late
/// can be freed while the process exits and OpenVINO's runtime is torn down.
public final class Handoff<Value>: @unchecked Sendable {
    private let stored: Locked<Value?>

    public init(_ value: Value) { stored = Locked(value) }

    /// The value; the box holds nothing afterwards. Taken once.
    public func take() -> Value {
        stored.withLock { value in
            defer { value = nil }
            return value!
        }
    }
}
