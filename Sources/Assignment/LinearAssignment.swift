/// Optimal rectangular linear assignment with gating.
///
/// Given costs c[i][j] and a gate g, picks pairs (i, j), each row and column at most
/// once, never a pair with c > g, minimising Σ (c[i][j] − g) over the chosen pairs:
/// leaving a row or column unmatched costs nothing, matching it is worth g − c. This
/// is the objective of Jonker–Volgenant with a cost limit, as trackers use it.
///
/// Solved exactly by shortest augmenting paths (Jonker & Volgenant 1987; the
/// rectangular form of Crouse 2016), separately on each connected group of rows and
/// columns joined by pairs under the gate: with IoU costs those groups are tiny, so
/// a frame of many objects costs far less than one dense O(n³) solve.
public enum LinearAssignment {
    public struct Pair: Sendable, Equatable, Hashable {
        public var row: Int
        public var column: Int

        public init(row: Int, column: Int) {
            self.row = row
            self.column = column
        }
    }

    public struct InvalidCost: Error, Sendable, Equatable, CustomStringConvertible {
        public var row: Int
        public var column: Int
        public var description: String { "assignment cost at row \(row), column \(column) is not a usable number" }
    }

    /// `costs` is row-major, `rows`×`columns`; +infinity marks a forbidden pair. Pairs
    /// come back sorted by row. Throws on NaN or -infinity.
    public static func solve(costs: [Double], rows: Int, columns: Int, gate: Double) throws -> [Pair] {
        precondition(costs.count == rows * columns, "cost matrix size")
        for (k, c) in costs.enumerated() where c.isNaN || c == -.infinity {
            throw InvalidCost(row: k / columns, column: k % columns)
        }
        guard rows > 0, columns > 0 else { return [] }

        var pairs: [Pair] = []
        for group in groups(costs: costs, rows: rows, columns: columns, gate: gate) {
            pairs += solveGroup(group, costs: costs, columns: columns, gate: gate)
        }
        return pairs.sorted { $0.row < $1.row }
    }

    /// Full rectangular assignment without a gate: min(rows, columns) pairs with the
    /// least total cost, as `scipy.optimize.linear_sum_assignment` gives. Costs must
    /// be finite. Pairs come back sorted by row.
    public static func minimumCost(costs: [Double], rows: Int, columns: Int) throws -> [Pair] {
        precondition(costs.count == rows * columns, "cost matrix size")
        for (k, c) in costs.enumerated() where !c.isFinite {
            throw InvalidCost(row: k / columns, column: k % columns)
        }
        guard rows > 0, columns > 0 else { return [] }
        if rows <= columns {
            return shortestAugmentingPaths(costs, rows: rows, columns: columns).enumerated()
                .map { Pair(row: $0.offset, column: $0.element) }
        }
        // The method assigns every row, so it needs no more rows than columns.
        var transposed = [Double](repeating: 0, count: costs.count)
        for i in 0..<rows {
            for j in 0..<columns { transposed[j * rows + i] = costs[i * columns + j] }
        }
        return shortestAugmentingPaths(transposed, rows: columns, columns: rows).enumerated()
            .map { Pair(row: $0.element, column: $0.offset) }
            .sorted { $0.row < $1.row }
    }

    /// Connected components of the bipartite graph of allowed pairs (union-find);
    /// rows and columns with no allowed pair are left out.
    private static func groups(costs: [Double], rows: Int, columns: Int, gate: Double) -> [(rows: [Int], columns: [Int])] {
        var parent = Array(0..<(rows + columns))
        func find(_ x: Int) -> Int {
            var x = x
            while parent[x] != x {
                parent[x] = parent[parent[x]]
                x = parent[x]
            }
            return x
        }
        var linked = [Bool](repeating: false, count: rows + columns)
        for i in 0..<rows {
            for j in 0..<columns where costs[i * columns + j] <= gate {
                linked[i] = true
                linked[rows + j] = true
                let a = find(i)
                let b = find(rows + j)
                if a != b { parent[max(a, b)] = min(a, b) }
            }
        }
        var slotOfRoot = [Int](repeating: -1, count: rows + columns)
        var result: [(rows: [Int], columns: [Int])] = []
        for node in 0..<(rows + columns) where linked[node] {
            let root = find(node)
            if slotOfRoot[root] < 0 {
                slotOfRoot[root] = result.count
                result.append(([], []))
            }
            let slot = slotOfRoot[root]
            if node < rows { result[slot].rows.append(node) } else { result[slot].columns.append(node - rows) }
        }
        return result
    }

    /// One group: rows r × (columns c + one "unmatched" column per row, cost 0), in
    /// units of c − gate, solved with the shortest augmenting path method.
    private static func solveGroup(_ group: (rows: [Int], columns: [Int]), costs: [Double], columns: Int, gate: Double) -> [Pair]
    {
        let n = group.rows.count
        let m = group.columns.count
        if n == 1 && m == 1 { return [Pair(row: group.rows[0], column: group.columns[0])] }
        let width = m + n
        var local = [Double](repeating: .infinity, count: n * width)
        for (i, row) in group.rows.enumerated() {
            for (j, column) in group.columns.enumerated() {
                let c = costs[row * columns + column]
                if c <= gate { local[i * width + j] = c - gate }
            }
            local[i * width + m + i] = 0
        }
        let columnOfRow = shortestAugmentingPaths(local, rows: n, columns: width)
        var pairs: [Pair] = []
        for i in 0..<n where columnOfRow[i] < m {
            pairs.append(Pair(row: group.rows[i], column: group.columns[columnOfRow[i]]))
        }
        return pairs
    }

    /// Minimum-cost assignment of every row of a rows ≤ columns matrix that has a
    /// feasible complete assignment. Returns the column of each row.
    static func shortestAugmentingPaths(_ cost: [Double], rows: Int, columns: Int) -> [Int] {
        var u = [Double](repeating: 0, count: rows)  // row potentials
        var v = [Double](repeating: 0, count: columns)  // column potentials
        var columnOfRow = [Int](repeating: -1, count: rows)
        var rowOfColumn = [Int](repeating: -1, count: columns)
        var path = [Int](repeating: -1, count: columns)
        var distance = [Double](repeating: .infinity, count: columns)
        var rowSeen = [Bool](repeating: false, count: rows)
        var columnSeen = [Bool](repeating: false, count: columns)
        var remaining = [Int](repeating: 0, count: columns)

        for start in 0..<rows {
            // 1. Dijkstra over reduced costs from `start` until a free column is reached.
            for j in 0..<columns {
                distance[j] = .infinity
                remaining[j] = columns - 1 - j
            }
            for i in 0..<rows { rowSeen[i] = false }
            for j in 0..<columns { columnSeen[j] = false }
            var remainingCount = columns
            var reached = 0.0
            var i = start
            var sink = -1
            while sink < 0 {
                rowSeen[i] = true
                var lowest = Double.infinity
                var pick = -1
                for k in 0..<remainingCount {
                    let j = remaining[k]
                    let reduced = reached + cost[i * columns + j] - u[i] - v[j]
                    if reduced < distance[j] {
                        path[j] = i
                        distance[j] = reduced
                    }
                    // Ties go to a free column: it ends the search sooner.
                    if distance[j] < lowest || (distance[j] == lowest && rowOfColumn[j] < 0) {
                        lowest = distance[j]
                        pick = k
                    }
                }
                // Every row has a finite "unmatched" column, so a path always exists.
                precondition(lowest < .infinity, "assignment infeasible")
                reached = lowest
                let j = remaining[pick]
                columnSeen[j] = true
                remainingCount -= 1
                remaining[pick] = remaining[remainingCount]
                if rowOfColumn[j] < 0 { sink = j } else { i = rowOfColumn[j] }
            }

            // 2. Update the potentials so reduced costs stay non-negative.
            u[start] += reached
            for r in 0..<rows where rowSeen[r] && r != start {
                u[r] += reached - distance[columnOfRow[r]]
            }
            for j in 0..<columns where columnSeen[j] {
                v[j] -= reached - distance[j]
            }

            // 3. Augment along the path back to `start`.
            var j = sink
            while true {
                let r = path[j]
                rowOfColumn[j] = r
                swap(&columnOfRow[r], &j)
                if r == start { break }
            }
        }
        return columnOfRow
    }
}
