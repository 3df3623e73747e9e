/// Optimal one-to-one assignment (linear sum assignment) on a dense rectangular matrix.
///
/// The Hungarian method with row and column potentials (shortest augmenting paths),
/// O(n²m) for n ≤ m. The evaluation's matrices are small (people in one frame, or
/// ids in one sequence); the tracker's own associator has a faster solver.
enum Assignment {
    /// Pairs (row, column), each row and column at most once, min(rows, columns) of
    /// them, whose total `score` is the largest possible. `score` is row-major,
    /// `rows`×`columns`, finite.
    static func maximize(_ score: [Double], rows: Int, columns: Int) -> [(row: Int, column: Int)] {
        precondition(score.count == rows * columns)
        if rows == 0 || columns == 0 { return [] }
        if rows <= columns {
            return minimize(rows, columns) { -score[$0 * columns + $1] }
        }
        // The method needs no more rows than columns: solve the transpose.
        return minimize(columns, rows) { -score[$1 * columns + $0] }
            .map { (row: $0.column, column: $0.row) }
    }

    /// Minimum-cost assignment of every one of `n` rows to distinct columns out of `m ≥ n`.
    private static func minimize(_ n: Int, _ m: Int, _ cost: (Int, Int) -> Double) -> [(row: Int, column: Int)] {
        // 1-based with a virtual column 0 that holds the row being inserted.
        var u = [Double](repeating: 0, count: n + 1)
        var v = [Double](repeating: 0, count: m + 1)
        var rowOf = [Int](repeating: 0, count: m + 1)
        var way = [Int](repeating: 0, count: m + 1)
        var minV = [Double](repeating: .infinity, count: m + 1)
        var used = [Bool](repeating: false, count: m + 1)
        for i in 1...n {
            rowOf[0] = i
            var j0 = 0
            for j in 0...m { minV[j] = .infinity; used[j] = false }
            repeat {
                used[j0] = true
                let i0 = rowOf[j0]
                var delta = Double.infinity
                var j1 = 0
                for j in 1...m where !used[j] {
                    let reduced = cost(i0 - 1, j - 1) - u[i0] - v[j]
                    if reduced < minV[j] { minV[j] = reduced; way[j] = j0 }
                    if minV[j] < delta { delta = minV[j]; j1 = j }
                }
                for j in 0...m {
                    if used[j] {
                        u[rowOf[j]] += delta
                        v[j] -= delta
                    } else {
                        minV[j] -= delta
                    }
                }
                j0 = j1
            } while rowOf[j0] != 0
            // Flip the augmenting path back to the virtual column.
            repeat {
                let j1 = way[j0]
                rowOf[j0] = rowOf[j1]
                j0 = j1
            } while j0 != 0
        }
        var pairs: [(row: Int, column: Int)] = []
        pairs.reserveCapacity(n)
        for j in 1...m where rowOf[j] != 0 { pairs.append((row: rowOf[j] - 1, column: j - 1)) }
        return pairs.sorted { $0.row < $1.row }
    }
}
