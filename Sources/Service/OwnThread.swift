import Foundation

/// Runs `body` on a thread of its own and returns what it returns once it has ended.
/// Jobs, streams and snapshots do blocking work (decoding, inference, writing,
/// encoding) that must not hold a thread of Swift's cooperative pool.
func onOwnThread<T: Sendable>(named name: String, _ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { (ended: CheckedContinuation<T, Never>) in
        let thread = Thread { ended.resume(returning: body()) }
        thread.name = name
        thread.start()
    }
}
