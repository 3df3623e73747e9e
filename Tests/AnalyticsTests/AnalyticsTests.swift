import Foundation
import TrackLog
import XCTest

@testable import Analytics

final class AnalyticsTests: XCTestCase {
    /// A vertical line at x = 300 from y = 0 down to y = 400: walking down it, the
    /// left-hand side is +x (image y points down), so `in` is from x > 300 to x < 300.
    let door = #"{"lines": [{"name": "door", "from": [300, 0], "to": [300, 400]}]}"#

    private func config(_ json: String) throws -> AnalyticsConfig {
        try AnalyticsConfig(json: Data(json.utf8))
    }

    /// Frames at `fps` of one person (id 1, box 40 × 100) whose feet are at each point
    /// in turn; nil: not seen in that frame.
    private func walk(_ feet: [(Double, Double)?], fps: Double = 10, id: Int = 1, startFrame: Int = 0) -> [LogFrame] {
        feet.enumerated().map { k, p in
            LogFrame(
                frame: startFrame + k, time: Double(startFrame + k) / fps,
                tracks: p.map { p in
                    [
                        LogTrack(
                            id: id, class: "person", classId: 0, score: 0.9, box: [p.0 - 20, p.1 - 100, 40, 100],
                            state: "confirmed")
                    ]
                } ?? [])
        }
    }

    private func events(_ config: AnalyticsConfig, _ frames: [LogFrame], finish: Bool = true) -> [LogEvent] {
        var analytics = Analytics(config: config, maxLostSeconds: 1)
        var events = frames.flatMap { analytics.update($0) }
        if finish { events += analytics.finish() }
        return events
    }

    private func crossings(_ events: [LogEvent]) -> [LogEvent.Direction] {
        events.filter { $0.kind == .line }.compactMap(\.direction)
    }

    /// x from `a` to `b` in `n` even steps at y = 200.
    private func line(_ a: Double, _ b: Double, _ n: Int) -> [(Double, Double)?] {
        (0..<n).map { k in (a + (b - a) * Double(k) / Double(n - 1), 200) }
    }

    func testCrossingsBothWaysAreCountedOnceWithTheirDirection() throws {
        let c = try config(door)
        XCTAssertEqual(crossings(events(c, walk(line(400, 200, 30)))), [.in])
        XCTAssertEqual(crossings(events(c, walk(line(200, 400, 30)))), [.out])
        // The crossing is placed at the first frame past the line.
        let e = try XCTUnwrap(events(c, walk(line(400, 200, 21))).first)
        XCTAssertEqual(e.frame, 11)  // x = 400 - 10·k: 290 at k = 11
        XCTAssertEqual(e.name, "door")
        XCTAssertEqual(e.class, "person")
    }

    func testAWalkerWhoStopsOnTheLineAndSwaysCountsOnce() throws {
        let c = try config(door)
        // Walks up, stands on the line swaying 6 px either side for 4 s, walks on.
        let sway = (0..<40).map { k -> (Double, Double)? in (k % 4 < 2 ? 306 : 294, 200) }
        let path = line(400, 300, 11) + sway + line(300, 200, 11)
        XCTAssertEqual(crossings(events(c, walk(path))), [.in])
        // Swaying wider than the margin but never staying the settle time: still once.
        let wide = (0..<40).map { k -> (Double, Double)? in (k % 4 < 2 ? 320 : 280, 200) }
        XCTAssertEqual(crossings(events(c, walk(line(400, 300, 11) + wide + line(300, 200, 11)))), [.in])
    }

    func testAWalkerWhoCrossesTurnsBackAndCrossesAgainCountsTwice() throws {
        let c = try config(door)
        let path = line(400, 200, 21) + line(200, 400, 21)
        XCTAssertEqual(crossings(events(c, walk(path))), [.in, .out])
    }

    func testAFootPointJitteringAlongTheLineCountsAtMostOnce() throws {
        let c = try config(door)
        // Walks down the line (y from 20 to 380), the foot point jittering ±8 px across it.
        var path: [(Double, Double)?] = []
        for k in 0..<120 { path.append((300 + (k % 3 == 0 ? 8 : -8) * (k % 2 == 0 ? 1 : -1), 20 + 3 * Double(k))) }
        XCTAssertLessThanOrEqual(crossings(events(c, walk(path))).count, 1)
        // A naive count of every side change of the same path would be dozens.
        let naive = zip(path, path.dropFirst()).filter { ($0!.0 - 300) * ($1!.0 - 300) < 0 }.count
        XCTAssertGreaterThan(naive, 20)
    }

    func testAPathPastTheSegmentsEndDoesNotCount() throws {
        let c = try config(door)
        // Crosses x = 300 at y = 500, below the line's end at y = 400.
        let path = (0..<30).map { k -> (Double, Double)? in (400 - 7 * Double(k), 500) }
        XCTAssertEqual(crossings(events(c, walk(path))), [])
    }

    func testATrackSeenInOneFrameOnlyCountsNothing() throws {
        let c = try config(door)
        XCTAssertEqual(events(c, walk([(300, 200)])), [])
        XCTAssertEqual(events(c, walk([(310, 200)])), [])
    }

    func testOnlyTheNamedClassesCount() throws {
        let c = try config(#"{"lines": [{"name": "door", "from": [300, 0], "to": [300, 400], "classes": ["car"]}]}"#)
        XCTAssertEqual(crossings(events(c, walk(line(400, 200, 30)))), [])
    }

    func testACrossingJustBeforeTheTrackEndsCounts() throws {
        let c = try config(door)
        // Past the line and the margin, then gone (left the picture) within the settle time.
        let path = line(400, 280, 13)
        XCTAssertEqual(crossings(events(c, walk(path))), [.in])
        XCTAssertEqual(crossings(events(c, walk(path), finish: false)), [])
    }

    func testZoneEnterExitAndLoiterTimesAreWithinOneFrameOfTheTruth() throws {
        let c = try config(
            #"{"zones": [{"name": "queue", "polygon": [[100,100],[300,100],[300,300],[100,300]], "loiterSeconds": 2}]}"#)
        // Outside for 1 s, inside from frame 10 to frame 49 (4 s), out again.
        var path: [(Double, Double)?] = (0..<10).map { _ in (50, 200) }
        path += (10..<50).map { _ in (200, 200) }
        path += (50..<70).map { _ in (400, 200) }
        let e = events(c, walk(path))
        let enter = try XCTUnwrap(e.first { $0.kind == .enter })
        let loiter = try XCTUnwrap(e.first { $0.kind == .loiter })
        let exit = try XCTUnwrap(e.first { $0.kind == .exit })
        XCTAssertEqual(enter.time, 1.0, accuracy: 0.1)
        XCTAssertEqual(loiter.time, 3.0, accuracy: 0.1)
        XCTAssertEqual(exit.time, 5.0, accuracy: 0.1)
        XCTAssertEqual(try XCTUnwrap(exit.seconds), 4.0, accuracy: 0.1)
        XCTAssertEqual(e.map(\.kind), [.enter, .loiter, .exit])
    }

    func testOccupancyCountsTracksInTheZoneNowAndAVisitEndsWithItsTrack() throws {
        let c = try config(#"{"zones": [{"name": "queue", "polygon": [[100,100],[300,100],[300,300],[100,300]]}]}"#)
        var analytics = Analytics(config: c, maxLostSeconds: 1)
        for f in walk(Array(repeating: (200, 200), count: 10)) { _ = analytics.update(f) }
        XCTAssertEqual(analytics.occupancy, ["queue": ["person": 1]])
        // Unseen for more than maxLostSeconds: its visit ends at its last sighting.
        var later: [LogEvent] = []
        for f in walk(Array(repeating: nil, count: 15), startFrame: 10) { later += analytics.update(f) }
        XCTAssertEqual(later.map(\.kind), [.exit])
        XCTAssertEqual(later.first?.frame, 9)
        XCTAssertEqual(analytics.occupancy, ["queue": [:]])
        XCTAssertEqual(analytics.totals.zones["queue"]?.entered, ["person": 1])
    }

    func testSpeedThroughAKnownHomographyIsWithinFivePercent() throws {
        // A road seen in perspective: the ground rectangle 0…4 m × 0…40 m appears as a
        // trapezoid, narrow far away (top), wide near (bottom).
        let image: [(Double, Double)] = [(280, 100), (360, 100), (520, 500), (120, 500)]
        let ground: [(Double, Double)] = [(0, 40), (4, 40), (4, 0), (0, 0)]
        let json = """
            {"speed": {"image": \(image.map { [$0.0, $0.1] }), "ground": \(ground.map { [$0.0, $0.1] })}}
            """
        let c = try config(json)
        let h = try XCTUnwrap(c.speed?.homography)
        // The inverse map places a car driving at 50 km/h down the middle of the road.
        let inverse = try XCTUnwrap(
            Homography(from: ground.map { Point($0.0, $0.1) }, to: image.map { Point($0.0, $0.1) }))
        let metresPerSecond = 50 / 3.6
        let fps = 25.0
        let path: [(Double, Double)?] = (0..<50).map { k in
            let p = inverse.map(Point(2, 35 - metresPerSecond * Double(k) / fps))
            return (p.x, p.y)
        }
        for p in path.prefix(3) { XCTAssertEqual(h.map(Point(p!.0, p!.1)).x, 2, accuracy: 1e-6) }
        let speed = try XCTUnwrap(events(c, walk(path, fps: fps)).first { $0.kind == .speed })
        XCTAssertEqual(try XCTUnwrap(speed.kmh), 50, accuracy: 2.5)
    }

    func testTheSameFramesGiveTheSameEvents() throws {
        let c = try config(door)
        let frames = walk(line(400, 200, 21) + line(200, 400, 21))
        XCTAssertEqual(events(c, frames), events(c, frames))
    }

    func testRelativePointsArePlacedOnThePicture() throws {
        let c = try config(#"{"relative": true, "lines": [{"name": "door", "from": [0.5, 0], "to": [0.5, 1]}]}"#)
        let placed = try c.resolved(width: 600, height: 400, classes: [])
        XCTAssertEqual(placed.lines.first?.from, Point(300, 0))
        XCTAssertEqual(placed.lines.first?.to, Point(300, 400))
        XCTAssertEqual(crossings(events(placed, walk(line(400, 200, 30)))), [.in])
    }

    func testEveryBadConfigurationIsRefusedNamingItsKey() {
        let bad: [(String, String)] = [
            (
                #"{"zones": [{"name": "z", "polygon": [[0,0],[100,100],[100,0],[0,100]]}]}"#,
                "zones[0].polygon: the polygon crosses itself"
            ),
            (#"{"zones": [{"name": "z", "polygon": [[0,0],[50,50],[100,100]]}]}"#, "zones[0].polygon: the polygon has no area"),
            (#"{"zones": [{"name": "z", "polygon": [[0,0],[50,50]]}]}"#, "zones[0].polygon: a polygon needs at least 3 corners"),
            (#"{"lines": [{"name": "l", "from": [5, 5], "to": [5, 5]}]}"#, "lines[0].to: the line has no length"),
            (
                #"{"lines": [{"name": "a", "from": [0, 0], "to": [5, 5]}], "zones": [{"name": "a", "polygon": [[0,0],[9,0],[9,9]]}]}"#,
                "zones[0].name: 'a' names another line or zone already"
            ),
            (
                #"{"speed": {"image": [[0,0],[1,0],[1,1]], "ground": [[0,0],[1,0],[1,1]]}}"#,
                "speed.image: needs at least 4 points (it has 3)"
            ),
            (
                #"{"speed": {"image": [[0,0],[10,0],[20,0],[5,9]], "ground": [[0,0],[1,0],[1,1],[0,1]]}}"#,
                "speed.image: points 0, 1 and 2 are in one line"
            ),
            (#"{"lines": [], "colour": "red"}"#, "colour: unknown key"),
            (#"{"lines": [{"name": "l", "from": [0, 0], "to": [5, 5], "side": 1}]}"#, "lines[0].side: unknown key"),
            (#"{"relative": true, "lines": [{"name": "l", "from": [0, 0], "to": [5, 5]}]}"#, "relative: with relative points"),
            (#"{"lines": [{"name": "l", "from": [0], "to": [5, 5]}]}"#, "lines[0].from: must be a point [x, y]"),
            (#"{"lines": [{"from": [0, 0], "to": [5, 5]}]}"#, "lines[0].name: missing"),
            (#"{"lines": [{"name": "l", "from": [0, 0], "to": [5, 5], "anchor": "top"}]}"#, "lines[0].anchor: must be"),
            (
                #"{"zones": [{"name": "z", "polygon": [[0,0],[9,0],[9,9]], "loiterSeconds": -1}]}"#,
                "zones[0].loiterSeconds: must be a number"
            ),
            (#"[1, 2]"#, "must be a JSON object"),
            (#"{"lines": "#, "not valid JSON")
        ]
        for (json, message) in bad {
            XCTAssertThrowsError(try config(json), json) { error in
                XCTAssertTrue("\(error)".hasPrefix(message), "\(json): \(error)")
            }
        }
        // Class names are checked against the detector's.
        XCTAssertThrowsError(
            try config(#"{"lines": [{"name": "l", "from": [0, 0], "to": [5, 5], "classes": ["preson"]}]}"#)
                .resolved(width: 10, height: 10, classes: ["person", "car"])
        ) { error in
            XCTAssertEqual("\(error)", "lines[0].classes: unknown class 'preson' (the detector's classes do not include it)")
        }
    }
}
