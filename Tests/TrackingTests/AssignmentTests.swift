import Assignment
import TestSupport
import Tracking
import XCTest

final class AssignmentTests: XCTestCase {
    /// The best objective Σ (gate − c) over valid partial matchings, by dynamic
    /// programming over rows and the set of used columns (exact for ≤ 12 columns).
    private func bruteForceBest(_ costs: [Double], rows: Int, columns: Int, gate: Double) -> Double {
        var best = [Double](repeating: -.infinity, count: 1 << columns)
        best[0] = 0
        for i in 0..<rows {
            var next = best  // row i unmatched
            for mask in 0..<(1 << columns) where best[mask] > -.infinity {
                for j in 0..<columns where mask & (1 << j) == 0 {
                    let c = costs[i * columns + j]
                    guard c <= gate else { continue }
                    next[mask | (1 << j)] = max(next[mask | (1 << j)], best[mask] + gate - c)
                }
            }
            best = next
        }
        return best.max()!
    }

    private func value(_ pairs: [LinearAssignment.Pair], _ costs: [Double], columns: Int, gate: Double) -> Double {
        pairs.reduce(0) { $0 + gate - costs[$1.row * columns + $1.column] }
    }

    private func assertValid(
        _ pairs: [LinearAssignment.Pair], _ costs: [Double], columns: Int, gate: Double,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertEqual(Set(pairs.map(\.row)).count, pairs.count, "row used twice", file: file, line: line)
        XCTAssertEqual(Set(pairs.map(\.column)).count, pairs.count, "column used twice", file: file, line: line)
        for p in pairs {
            XCTAssertLessThanOrEqual(costs[p.row * columns + p.column], gate, "gated pair matched", file: file, line: line)
        }
        XCTAssertEqual(pairs.map(\.row), pairs.map(\.row).sorted(), file: file, line: line)
    }

    func testMatchesBruteForceOnRandomMatrices() throws {
        var rng = SeededGenerator(seed: 42)
        for trial in 0..<3000 {
            let rows = Int.random(in: 0...8, using: &rng)
            let columns = Int.random(in: 0...8, using: &rng)
            let gate = [0.5, 0.8, 1.0, 10][trial % 4]
            let style = trial % 3
            let costs: [Double] = (0..<(rows * columns)).map { _ in
                switch style {
                case 0: return Double.random(in: 0...1, using: &rng)
                case 1: return Double(Int.random(in: 0...3, using: &rng)) / 4  // many ties
                default: return Bool.random(using: &rng) ? .infinity : Double.random(in: -2...2, using: &rng)
                }
            }
            let pairs = try LinearAssignment.solve(costs: costs, rows: rows, columns: columns, gate: gate)
            assertValid(pairs, costs, columns: columns, gate: gate)
            XCTAssertEqual(
                value(pairs, costs, columns: columns, gate: gate),
                bruteForceBest(costs, rows: rows, columns: columns, gate: gate), accuracy: 1e-9,
                "trial \(trial): \(rows)x\(columns)")
        }
    }

    func testFullAssignmentWithoutGateMatchesBruteForce() throws {
        // With a gate far above every cost, the gated optimum is the full assignment.
        var rng = SeededGenerator(seed: 5)
        let big = 1e6
        for _ in 0..<1000 {
            let rows = Int.random(in: 0...7, using: &rng)
            let columns = Int.random(in: 0...7, using: &rng)
            let costs = (0..<(rows * columns)).map { _ in Double(Int.random(in: -4...4, using: &rng)) / 4 }
            let pairs = try LinearAssignment.minimumCost(costs: costs, rows: rows, columns: columns)
            assertValid(pairs, costs, columns: columns, gate: .infinity)
            XCTAssertEqual(pairs.count, min(rows, columns))
            let total = pairs.reduce(0) { $0 + costs[$1.row * columns + $1.column] }
            XCTAssertEqual(
                big * Double(pairs.count) - total, bruteForceBest(costs, rows: rows, columns: columns, gate: big),
                accuracy: 1e-6, "\(rows)x\(columns)")
        }
        XCTAssertThrowsError(try LinearAssignment.minimumCost(costs: [0, .infinity], rows: 1, columns: 2))
    }

    func testEmptyAndFullyGated() throws {
        XCTAssertEqual(try LinearAssignment.solve(costs: [], rows: 0, columns: 5, gate: 1), [])
        XCTAssertEqual(try LinearAssignment.solve(costs: [], rows: 4, columns: 0, gate: 1), [])
        XCTAssertEqual(try LinearAssignment.solve(costs: [2, 3, .infinity, 5], rows: 2, columns: 2, gate: 1), [])
    }

    func testGatePreventsCheaperTotalThroughABadPair() throws {
        // Matching (0,1) and (1,0) covers both rows, but (1,0) is over the gate.
        let costs: [Double] = [
            0.1, 0.2,
            0.95, 0.3
        ]
        let pairs = try LinearAssignment.solve(costs: costs, rows: 2, columns: 2, gate: 0.9)
        XCTAssertEqual(pairs, [.init(row: 0, column: 0), .init(row: 1, column: 1)])
        let gated = try LinearAssignment.solve(costs: [0.1, 0.95], rows: 2, columns: 1, gate: 0.9)
        XCTAssertEqual(gated, [.init(row: 0, column: 0)])
    }

    func testOptimalNotGreedy() throws {
        // Greedy takes (0,0) at 0.1 and leaves row 1 with 0.9; optimal is 0.2 + 0.3.
        let costs: [Double] = [
            0.1, 0.2,
            0.3, 0.9
        ]
        XCTAssertEqual(
            try LinearAssignment.solve(costs: costs, rows: 2, columns: 2, gate: 1),
            [.init(row: 0, column: 1), .init(row: 1, column: 0)])
    }

    func testTiesAreResolvedTheSameWayEveryTime() throws {
        let costs = [Double](repeating: 0.5, count: 36)
        let first = try LinearAssignment.solve(costs: costs, rows: 6, columns: 6, gate: 1)
        XCTAssertEqual(first.count, 6)
        for _ in 0..<10 {
            XCTAssertEqual(try LinearAssignment.solve(costs: costs, rows: 6, columns: 6, gate: 1), first)
        }
    }

    func testRejectsNaN() {
        XCTAssertThrowsError(try LinearAssignment.solve(costs: [0.1, .nan, 0.3, 0.4], rows: 2, columns: 2, gate: 1)) { error in
            let invalid = error as? LinearAssignment.InvalidCost
            XCTAssertEqual(invalid?.row, 0)
            XCTAssertEqual(invalid?.column, 1)
        }
        XCTAssertThrowsError(try LinearAssignment.solve(costs: [-.infinity], rows: 1, columns: 1, gate: 1))
    }

    func testLargeDenseMatrixIsOptimalAgainstAKnownPermutation() throws {
        // Costs 1 everywhere except a hidden permutation at 0: the optimum is that permutation.
        let n = 200
        var rng = SeededGenerator(seed: 7)
        let permutation = Array(0..<n).shuffled(using: &rng)
        var costs = (0..<(n * n)).map { _ in Double.random(in: 0.5...1, using: &rng) }
        for i in 0..<n { costs[i * n + permutation[i]] = 0 }
        let pairs = try LinearAssignment.solve(costs: costs, rows: n, columns: n, gate: 2)
        XCTAssertEqual(pairs.map(\.column), permutation)
    }
}
