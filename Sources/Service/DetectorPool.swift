import Detection
import Foundation
import Pipeline
import ServiceFiles

/// The loaded model, shared by every spool job and stream. Reading a model and
/// compiling it takes seconds (longer than many jobs) and as much memory as the
/// model, so it is loaded once for the detector settings in force; each job or
/// stream gets a detector of its own on it, that is an inference request of its own
/// (`Detector.sharingModel()`), and the model is compiled for that many requests at
/// once. After a reload with other detector settings, the next job loads the new
/// model; the old one is freed when its last user lets it go.
final class DetectorPool: Sendable {
    /// Frames the model is compiled to detect at once.
    let concurrency: Int
    private let loaded = Locked<(settings: ServiceConfig.DetectorSettings, model: any Detector)?>(nil)

    init(concurrency: Int) {
        self.concurrency = max(1, concurrency)
    }

    /// The options a model is loaded with under `settings`.
    func options(_ settings: ServiceConfig.DetectorSettings) -> DetectorOptions {
        var options = settings.options
        options.concurrency = concurrency
        return options
    }

    /// Makes `model`, loaded with `options(settings)`, the one the next takes share.
    func share(_ model: any Detector, settings: ServiceConfig.DetectorSettings) {
        loaded.value = (settings, model)
    }

    /// A detector of the caller's own on the model loaded for `settings`, loading
    /// the model first if other settings were in force. Callers wait for one load.
    func take(_ settings: ServiceConfig.DetectorSettings) throws -> any Detector {
        try loaded.withLock { loaded in
            if let loaded, loaded.settings == settings { return try loaded.model.sharingModel() }
            // Other threads are logging by now: the process's stderr must stay theirs.
            let model = try loadDetector(options(settings), frontEndMessages: .shown)
            loaded = (settings, model)
            return try model.sharingModel()
        }
    }
}
