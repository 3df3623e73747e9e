import MOTFiles
import XCTest

@testable import Evaluation

/// Metrics on cases small enough to score by hand.
final class EvaluationTests: XCTestCase {
    private func gt(
        _ frame: Int, _ id: Int, _ x: Double, _ y: Double = 0, w: Double = 10, h: Double = 20,
        mark: Double = 1, cls: Int = 1
    ) -> MOTRecord {
        MOTRecord(frame: frame, id: id, left: x, top: y, width: w, height: h, confidence: mark, classID: cls, visibility: 1)
    }

    private func res(_ frame: Int, _ id: Int, _ x: Double, _ y: Double = 0, w: Double = 10, h: Double = 20) -> MOTRecord {
        MOTRecord(frame: frame, id: id, left: x, top: y, width: w, height: h)
    }

    private func assertScores(
        _ s: Scores, hota: Double, detA: Double, assA: Double, mota: Double, idf1: Double,
        idsw: Int, fp: Int, fn: Int, mt: Int, ml: Int,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertEqual(s.hota, hota, accuracy: 1e-12, "HOTA", file: file, line: line)
        XCTAssertEqual(s.detA, detA, accuracy: 1e-12, "DetA", file: file, line: line)
        XCTAssertEqual(s.assA, assA, accuracy: 1e-12, "AssA", file: file, line: line)
        XCTAssertEqual(s.mota, mota, accuracy: 1e-12, "MOTA", file: file, line: line)
        XCTAssertEqual(s.idf1, idf1, accuracy: 1e-12, "IDF1", file: file, line: line)
        XCTAssertEqual([s.idsw, s.fp, s.fn, s.mt, s.ml], [idsw, fp, fn, mt, ml], "IDSW FP FN MT ML", file: file, line: line)
    }

    func testPerfectTrackingScoresOneEverywhere() throws {
        let truth = (1...3).flatMap { f in [gt(f, 1, 0), gt(f, 2, 50)] }
        let results = (1...3).flatMap { f in [res(f, 7, 0), res(f, 9, 50)] }
        let s = try Evaluator.evaluate(groundTruth: truth, results: results, frameCount: 3)
        assertScores(s, hota: 1, detA: 1, assA: 1, mota: 1, idf1: 1, idsw: 0, fp: 0, fn: 0, mt: 2, ml: 0)
        XCTAssertEqual(s.frag, 0)
    }

    func testOneIDSwitch() throws {
        // One person, 4 frames; the tracker calls them 1, then 2 from frame 3.
        let truth = (1...4).map { gt($0, 1, 0) }
        let results = (1...4).map { res($0, $0 <= 2 ? 1 : 2, 0) }
        let s = try Evaluator.evaluate(groundTruth: truth, results: results, frameCount: 4)
        // MOTA (4 - 0 - 1) / 4. IDF1: the best pairing covers 2 frames: 2 / (2 + 1 + 1).
        // AssA: each match's track pair overlaps 2 of 4 + 2 - 2 frames: 0.5; HOTA √0.5.
        assertScores(
            s, hota: 0.5.squareRoot(), detA: 1, assA: 0.5, mota: 0.75, idf1: 0.5,
            idsw: 1, fp: 0, fn: 0, mt: 1, ml: 0)
    }

    func testOneFalsePositive() throws {
        let truth = (1...2).map { gt($0, 1, 0) }
        let results = (1...2).map { res($0, 1, 0) } + [res(1, 2, 500)]
        let s = try Evaluator.evaluate(groundTruth: truth, results: results, frameCount: 2)
        // DetA 2 / 3; IDF1 2 / (2 + 0.5).
        assertScores(
            s, hota: (2.0 / 3).squareRoot(), detA: 2.0 / 3, assA: 1, mota: 0.5, idf1: 0.8,
            idsw: 0, fp: 1, fn: 0, mt: 1, ml: 0)
    }

    func testOneMiss() throws {
        let truth = (1...4).map { gt($0, 1, 0) }
        let results = (1...3).map { res($0, 1, 0) }
        let s = try Evaluator.evaluate(groundTruth: truth, results: results, frameCount: 4)
        // DetA 3 / 4; AssA 3 / (4 + 3 - 3); IDF1 3 / (3 + 0.5); tracked 75 %: partly, not mostly.
        assertScores(
            s, hota: 0.75, detA: 0.75, assA: 0.75, mota: 0.75, idf1: 3 / 3.5,
            idsw: 0, fp: 0, fn: 1, mt: 0, ml: 0)
        XCTAssertEqual(s.pt, 1)
    }

    func testLocalisationThresholds() throws {
        // IoU 115 / 200 = 0.575: a match for α = 0.05 ... 0.55 (11 of 19), a miss and a
        // false positive above. CLEAR and Identity need only 0.5.
        let s = try Evaluator.evaluate(
            groundTruth: [gt(1, 1, 0, w: 20, h: 10)],
            results: [res(1, 1, 0, w: 11.5, h: 10)], frameCount: 1)
        XCTAssertEqual(s.hotaTP, Array(repeating: 1, count: 11) + Array(repeating: 0, count: 8))
        XCTAssertEqual(s.hota, 11.0 / 19, accuracy: 1e-12)
        XCTAssertEqual(s.detA, 11.0 / 19, accuracy: 1e-12)
        XCTAssertEqual(s.mota, 1)
        XCTAssertEqual(s.idf1, 1)
    }

    func testDistractorsAndZeroMarkedGroundTruth() throws {
        // Frame 1: a pedestrian; the four distractor classes; a car; a zero-marked
        // pedestrian. A result box on each: those on distractors are dropped, the ones
        // on the car and the zero-marked pedestrian are false positives.
        let truth = [
            gt(1, 1, 0), gt(1, 2, 100, cls: 2), gt(1, 3, 200, cls: 7), gt(1, 4, 300, cls: 8),
            gt(1, 5, 400, cls: 12), gt(1, 6, 500, cls: 3), gt(1, 7, 600, mark: 0)
        ]
        let results = (0..<7).map { res(1, $0 + 1, Double($0) * 100) }
        let s = try Evaluator.evaluate(groundTruth: truth, results: results, frameCount: 1)
        XCTAssertEqual([s.tp, s.fp, s.fn, s.idsw], [1, 2, 0, 0])
        XCTAssertEqual(s.mota, -1)
        XCTAssertEqual(s.idf1, 1 / 2.0, accuracy: 1e-12)
        // A box overlapping a distractor by less than 0.5 is a false positive too.
        let near = try Evaluator.evaluate(
            groundTruth: [gt(1, 1, 0), gt(1, 2, 100, mark: 0, cls: 7)],
            results: [res(1, 1, 0), res(1, 2, 106)], frameCount: 1)
        XCTAssertEqual([near.tp, near.fp, near.fn], [1, 1, 0])
    }

    func testContinuingMatchWinsOverBetterOverlap() throws {
        // Frame 2: tracker 2 overlaps the person better, but tracker 1 still overlaps
        // ≥ 0.5 and held them in frame 1: no ID switch.
        let truth = [gt(1, 1, 0), gt(2, 1, 0)]
        let results = [res(1, 1, 0), res(2, 1, 2), res(2, 2, 0)]
        let s = try Evaluator.evaluate(groundTruth: truth, results: results, frameCount: 2)
        XCTAssertEqual([s.tp, s.fp, s.idsw], [2, 1, 0])
    }

    func testFragmentation() throws {
        // Tracked, lost in frame 3, tracked again: one fragmentation, no ID switch.
        let truth = (1...5).map { gt($0, 1, 0) }
        let results = [1, 2, 4, 5].map { res($0, 1, 0) } + [res(3, 1, 300)]
        let s = try Evaluator.evaluate(groundTruth: truth, results: results, frameCount: 5)
        XCTAssertEqual([s.frag, s.idsw, s.fn, s.fp], [1, 0, 1, 1])
    }

    func testNoResultsMissesEverything() throws {
        let truth = (1...3).flatMap { f in [gt(f, 1, 0), gt(f, 2, 50)] }
        let s = try Evaluator.evaluate(groundTruth: truth, results: [], frameCount: 3)
        assertScores(s, hota: 0, detA: 0, assA: 0, mota: 0, idf1: 0, idsw: 0, fp: 0, fn: 6, mt: 0, ml: 2)
    }

    func testCombinedSumsCountsAndWeightsAssociation() throws {
        let switched = try Evaluator.evaluate(
            groundTruth: (1...4).map { gt($0, 1, 0) },
            results: (1...4).map { res($0, $0 <= 2 ? 1 : 2, 0) }, frameCount: 4)
        let missed = try Evaluator.evaluate(
            groundTruth: (1...4).map { gt($0, 1, 0) },
            results: (1...3).map { res($0, 1, 0) }, frameCount: 4)
        let c = Scores.combined([switched, missed])
        // AssA weighted by true positives: (0.5 · 4 + 0.75 · 3) / 7; DetA 7 / 8.
        let assA = (0.5 * 4 + 0.75 * 3) / 7
        XCTAssertEqual(c.assA, assA, accuracy: 1e-12)
        XCTAssertEqual(c.detA, 7.0 / 8, accuracy: 1e-12)
        XCTAssertEqual(c.hota, (assA * 7 / 8).squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(c.mota, 6.0 / 8, accuracy: 1e-12)
        XCTAssertEqual(c.idf1, 5.0 / (5 + 0.5 * 2 + 0.5 * 3), accuracy: 1e-12)
        XCTAssertEqual([c.idsw, c.fn, c.mt, c.pt], [1, 1, 1, 1])
    }

    func testBadResultsAreRejected() {
        XCTAssertThrowsError(try Evaluator.evaluate(groundTruth: [gt(1, 1, 0)], results: [res(3, 1, 0)], frameCount: 2)) {
            XCTAssertEqual(($0 as? EvaluationError)?.message, "frame 3 is past the sequence's 2 frames")
        }
        XCTAssertThrowsError(
            try Evaluator.evaluate(
                groundTruth: [gt(1, 1, 0)], results: [res(1, 4, 0), res(1, 4, 9)],
                frameCount: 1)
        ) {
            XCTAssertEqual(($0 as? EvaluationError)?.message, "frame 1 has track id 4 more than once")
        }
    }

    func testAssignmentIsOptimal() throws {
        // Against every assignment, on random rectangular matrices with ties.
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<300 {
            let rows = Int.random(in: 1...5, using: &rng)
            let columns = Int.random(in: 1...5, using: &rng)
            let score = (0..<rows * columns).map { _ in Double(Int.random(in: 0...4, using: &rng)) / 4 }
            let pairs = try OptimalMatching.maximize(score, rows: rows, columns: columns)
            XCTAssertEqual(pairs.count, min(rows, columns))
            XCTAssertEqual(Set(pairs.map(\.row)).count, pairs.count)
            XCTAssertEqual(Set(pairs.map(\.column)).count, pairs.count)
            let total = pairs.reduce(0) { $0 + score[$1.row * columns + $1.column] }
            XCTAssertEqual(total, best(score, rows, columns, row: 0, used: []), "\(rows)x\(columns) \(score)")
        }
    }

    private func best(_ score: [Double], _ rows: Int, _ columns: Int, row: Int, used: Set<Int>) -> Double {
        if row == rows || used.count == columns { return 0 }
        var result = best(score, rows, columns, row: row + 1, used: used)  // row left out (rows > columns)
        for c in 0..<columns where !used.contains(c) {
            result = max(result, score[row * columns + c] + best(score, rows, columns, row: row + 1, used: used.union([c])))
        }
        return result
    }
}
