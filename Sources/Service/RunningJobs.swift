import Foundation
import Pipeline

/// The spool's jobs running now, each with its stop signal: the workers start and end
/// them, a shutdown stops them all, and the HTTP API cancels one.
final class RunningJobs: Sendable {
    private struct Job {
        let stop = StopSignal()
        var cancelled = false
        var ended: Task<Void, Never>?
    }

    private let jobs = Locked<[String: Job]>([:])

    var count: Int { jobs.value.count }

    /// Runs `work` for the job `name` on a thread of its own, with the job's stop signal.
    func start(_ name: String, _ work: @escaping @Sendable (StopSignal) -> Void) {
        let job = Job()
        jobs.withLock { $0[name] = job }
        let ended = Task { [jobs] in
            await onOwnThread(named: "trackd job") { work(job.stop) }
            jobs.withLock { $0[name] = nil }
        }
        jobs.withLock { $0[name]?.ended = ended }
    }

    /// Asks a running job to stop for good after its current frame; false when no job
    /// of that name runs.
    func cancel(_ name: String) -> Bool {
        guard
            let stop = jobs.withLock({ jobs -> StopSignal? in
                jobs[name]?.cancelled = true
                return jobs[name]?.stop
            })
        else { return false }
        stop.request(SIGTERM)
        return true
    }

    /// Asks a running job to stop after its current frame, to run again (elsewhere);
    /// false when no job of that name runs.
    func stop(_ name: String) -> Bool {
        guard let stop = jobs.withLock({ $0[name]?.stop }) else { return false }
        stop.request(SIGTERM)
        return true
    }

    /// Waits until the job `name` has ended (at once when none of that name runs).
    func ended(_ name: String) async {
        await jobs.withLock { $0[name]?.ended }?.value
    }

    func isCancelled(_ name: String) -> Bool { jobs.value[name]?.cancelled ?? false }

    /// Asks every job to stop after its current frame and waits until all have ended.
    func stopAll() async {
        let all = Array(jobs.value.values)
        for job in all { job.stop.request(SIGTERM) }
        for job in all { await job.ended?.value }
    }
}
