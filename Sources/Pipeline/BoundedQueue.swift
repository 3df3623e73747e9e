import Foundation

/// A first-in first-out queue of at most `capacity` items between one producer and
/// one consumer thread: a producer that gets ahead waits, so memory stays flat. The
/// producer ends it with `close(error:)`; the consumer gets the items, then the error.
final class BoundedQueue<Element: Sendable>: @unchecked Sendable {
    private let capacity: Int
    private let condition = NSCondition()
    /// Items from `head` on; the slots before it are emptied as their items leave, so
    /// that what is popped or dropped (frames: decoded pictures, tensors) is freed at
    /// once, not when the array is next compacted.
    private var items: [Element?] = []
    private var head = 0
    private var closed = false
    private var failure: (any Error)?
    private var cancelled = false

    init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    /// Items waiting.
    var count: Int {
        condition.lock()
        defer { condition.unlock() }
        return items.count - head
    }

    /// Adds an item, waiting for room; false once the consumer has cancelled.
    func push(_ item: Element) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while items.count - head >= capacity && !cancelled { condition.wait() }
        guard !cancelled else { return false }
        items.append(item)
        condition.broadcast()
        return true
    }

    /// Adds an item without waiting: when full, the oldest item is dropped (a live
    /// source cannot wait for a slow consumer). Returns the number dropped (0 or 1),
    /// or nil once the consumer has cancelled.
    func pushDroppingOldest(_ item: Element) -> Int? {
        condition.lock()
        defer { condition.unlock() }
        guard !cancelled else { return nil }
        var dropped = 0
        if items.count - head >= capacity {
            _ = removeOldest()
            dropped = 1
        }
        items.append(item)
        condition.broadcast()
        return dropped
    }

    /// No more items; `error` (if any) is thrown to the consumer after the last one.
    func close(error: (any Error)? = nil) {
        condition.lock()
        closed = true
        failure = error
        condition.broadcast()
        condition.unlock()
    }

    /// The consumer stops early: a waiting producer is released, and the items still
    /// waiting are let go. Returns how many there were.
    @discardableResult
    func cancel() -> Int {
        condition.lock()
        defer { condition.unlock() }
        cancelled = true
        let left = items.count - head
        items.removeAll()
        head = 0
        condition.broadcast()
        return left
    }

    /// The next item, waiting for one; nil when closed and drained, or cancelled;
    /// throws the producer's error after the last item.
    func pop() throws -> Element? {
        condition.lock()
        defer { condition.unlock() }
        while head == items.count && !closed && !cancelled { condition.wait() }
        if cancelled { return nil }
        if head < items.count {
            let item = removeOldest()
            condition.broadcast()
            return item
        }
        if let failure { throw failure }
        return nil
    }

    /// Takes the oldest item out, emptying its slot; under the lock.
    private func removeOldest() -> Element {
        let item = items[head]!
        items[head] = nil
        head += 1
        if head == items.count {
            items.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 64 {
            items.removeFirst(head)
            head = 0
        }
        return item
    }
}
