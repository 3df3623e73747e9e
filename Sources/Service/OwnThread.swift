import Foundation
import Pipeline

/// Runs `body` on a thread of its own and returns what it returns once it has ended.
/// Jobs, streams and snapshots do blocking work (decoding, inference, writing,
/// encoding) that must not hold a thread of Swift's cooperative pool. `body`, and all
/// it holds (a stream's service, the detector pool), is let go on that thread before
/// the caller resumes, never after: the last of a model freed on a thread still
/// ending can race the process's exit.
func onOwnThread<T: Sendable>(named name: String, _ body: @escaping @Sendable () -> T) async -> T {
    let work = Handoff(body)
    return await withCheckedContinuation { (ended: CheckedContinuation<T, Never>) in
        let thread = Thread { ended.resume(returning: run(work.take())) }
        thread.name = name
        thread.start()
    }
}

/// Calls `body`, which is released when this returns.
private func run<T>(_ body: () -> T) -> T { body() }
