import Foundation

/// Runs `body` on a thread of its own and returns once it has ended. Jobs and streams
/// do blocking work (decoding, inference, writing) that must not hold a thread of
/// Swift's cooperative pool.
func onOwnThread(named name: String, _ body: @escaping @Sendable () -> Void) async {
    await withCheckedContinuation { (ended: CheckedContinuation<Void, Never>) in
        let thread = Thread {
            body()
            ended.resume()
        }
        thread.name = name
        thread.start()
    }
}
