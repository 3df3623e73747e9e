import Detection
import Foundation
import Pipeline

/// Loaded detectors, kept between spool jobs. Reading a model and compiling it for a
/// picture size takes seconds — longer than many jobs — so a job takes an idle
/// detector made with the settings in force, and gives it back when it ends; a stream
/// takes one for as long as it runs. After a reload with other detector settings, the
/// old ones are let go.
final class DetectorPool: Sendable {
    private let idle = Locked<[(settings: ServiceConfig.DetectorSettings, detector: any Detector)]>([])

    /// An idle detector made with `settings`, else a newly loaded one.
    func take(_ settings: ServiceConfig.DetectorSettings) throws -> any Detector {
        let kept = idle.withLock { idle in idle.firstIndex { $0.settings == settings }.map { idle.remove(at: $0).detector } }
        // Other threads are logging by now: the process's stderr must stay theirs.
        return try kept ?? loadDetector(settings.options, frontEndMessages: .shown)
    }

    /// Keeps `detector` for the next job, at most `limit` in all (one per worker).
    func giveBack(_ detector: any Detector, settings: ServiceConfig.DetectorSettings, limit: Int) {
        idle.withLock { idle in
            idle.removeAll { $0.settings != settings }
            if idle.count < limit { idle.append((settings, detector)) }
        }
    }
}
