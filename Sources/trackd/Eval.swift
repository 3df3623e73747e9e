import ArgumentParser
import Evaluation
import Foundation
import MOTFiles

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score tracking results against MOTChallenge ground truth.",
        discussion: """
            For every sequence folder <seq> under --gt that holds gt/gt.txt and
            seqinfo.ini, reads <seq>.txt from --results and prints HOTA, DetA, AssA,
            MOTA, IDF1 (in percent), ID switches, false positives, misses, mostly
            tracked and mostly lost ground-truth tracks, then the sequences combined.
            Scoring follows TrackEval's MOT17 protocol: pedestrians only, result boxes
            on distractors (people on vehicles, static people, reflections, ...)
            and zero-marked ground truth are left out; a match needs IoU >= 0.5.
            A sequence without a results file is an error.
            """
    )

    @Option(help: ArgumentHelp("Folder of sequence folders, each with gt/gt.txt and seqinfo.ini.", valueName: "dir"))
    var gt: String

    @Option(help: ArgumentHelp("Folder of results files, one <seq>.txt per sequence.", valueName: "dir"))
    var results: String

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    func run() throws {
        let report: EvalReport
        do {
            report = try EvalReport.score(gt: gt, results: results)
        } catch {
            throw CLI.failure(error)
        }
        print(json ? CLI.json(report) : report.table())
    }
}

/// `eval`'s output: per-sequence rows and the combined row.
struct EvalReport: Encodable {
    struct Row: Encodable {
        var sequence: String
        var hota: Double
        var detA: Double
        var assA: Double
        var mota: Double
        var idf1: Double
        var idsw: Int
        var fp: Int
        var fn: Int
        var mt: Int
        var ml: Int
        var frag: Int

        /// TrackEval's names for the scores.
        enum CodingKeys: String, CodingKey {
            case sequence
            case hota = "HOTA"
            case detA = "DetA"
            case assA = "AssA"
            case mota = "MOTA"
            case idf1 = "IDF1"
            case idsw = "IDSW"
            case fp = "FP"
            case fn = "FN"
            case mt = "MT"
            case ml = "ML"
            case frag = "Frag"
        }

        init(_ sequence: String, _ s: Scores) {
            self.sequence = sequence
            hota = 100 * s.hota
            detA = 100 * s.detA
            assA = 100 * s.assA
            mota = 100 * s.mota
            idf1 = 100 * s.idf1
            idsw = s.idsw
            fp = s.fp
            fn = s.fn
            mt = s.mt
            ml = s.ml
            frag = s.frag
        }
    }

    var sequences: [Row]
    var combined: Row

    static func score(gt: String, results: String) throws -> EvalReport {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        for (option, dir) in [("--gt", gt), ("--results", results)] {
            guard fm.fileExists(atPath: dir, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw EvaluationError("\(option) \(dir): no such folder")
            }
        }
        let gtRoot = URL(fileURLWithPath: gt)
        let resultsRoot = URL(fileURLWithPath: results)
        let names = try fm.contentsOfDirectory(atPath: gt).sorted().filter {
            fm.fileExists(atPath: gtRoot.appendingPathComponent("\($0)/gt/gt.txt").path)
                && fm.fileExists(atPath: gtRoot.appendingPathComponent("\($0)/seqinfo.ini").path)
        }
        guard !names.isEmpty else {
            throw EvaluationError("\(gt): no sequence folders with gt/gt.txt and seqinfo.ini")
        }
        var rows: [Row] = []
        var all: [Scores] = []
        for name in names {
            let resultsFile = resultsRoot.appendingPathComponent("\(name).txt").path
            guard fm.fileExists(atPath: resultsFile) else {
                throw EvaluationError("no results for sequence \(name): \(resultsFile) does not exist")
            }
            let info = try SequenceInfo.read(gtRoot.appendingPathComponent("\(name)/seqinfo.ini").path)
            let groundTruth = try MOTText.read(gtRoot.appendingPathComponent("\(name)/gt/gt.txt").path)
            let tracks = try MOTText.read(resultsFile)
            let scores: Scores
            do {
                scores = try Evaluator.evaluate(groundTruth: groundTruth, results: tracks, frameCount: info.length)
            } catch let error as EvaluationError {
                throw EvaluationError("\(name): \(error.message)")
            }
            rows.append(Row(name, scores))
            all.append(scores)
        }
        return EvalReport(sequences: rows, combined: Row("COMBINED", Scores.combined(all)))
    }

    func table() -> String {
        let head = ["Sequence", "HOTA", "DetA", "AssA", "MOTA", "IDF1", "IDSW", "FP", "FN", "MT", "ML", "Frag"]
        let cells = (sequences + [combined]).map { r in
            [r.sequence] + [r.hota, r.detA, r.assA, r.mota, r.idf1].map { String(format: "%.2f", $0) }
                + [r.idsw, r.fp, r.fn, r.mt, r.ml, r.frag].map(String.init)
        }
        let widths = head.indices.map { k in ([head] + cells).map { $0[k].count }.max()! }
        func line(_ row: [String]) -> String {
            row.enumerated().map { k, text in
                let pad = String(repeating: " ", count: widths[k] - text.count)
                return k == 0 ? text + pad : pad + text
            }.joined(separator: "  ")
        }
        return ([head] + cells).map(line).joined(separator: "\n")
    }
}
