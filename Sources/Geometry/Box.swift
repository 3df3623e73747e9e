/// An axis-aligned box in pixels, by its corners (x1, y1) top-left and (x2, y2)
/// bottom-right.
public struct Box: Sendable, Equatable, Hashable {
    public var x1: Double
    public var y1: Double
    public var x2: Double
    public var y2: Double

    public init(x1: Double, y1: Double, x2: Double, y2: Double) {
        self.x1 = x1
        self.y1 = y1
        self.x2 = x2
        self.y2 = y2
    }

    /// From MOTChallenge's left, top, width, height.
    public init(left: Double, top: Double, width: Double, height: Double) {
        self.init(x1: left, y1: top, x2: left + width, y2: top + height)
    }

    /// From a centre and a size.
    public init(centerX: Double, centerY: Double, width: Double, height: Double) {
        self.init(x1: centerX - width / 2, y1: centerY - height / 2, x2: centerX + width / 2, y2: centerY + height / 2)
    }

    /// As MOTChallenge files and the track log write it: left, top, width, height.
    public var leftTopWidthHeight: [Double] { [x1, y1, width, height] }

    public var width: Double { x2 - x1 }
    public var height: Double { y2 - y1 }
    public var centerX: Double { (x1 + x2) / 2 }
    public var centerY: Double { (y1 + y2) / 2 }
    public var area: Double { max(0, width) * max(0, height) }

    /// The same box moved by (dx, dy).
    public func offsetBy(dx: Double, dy: Double) -> Box {
        Box(x1: x1 + dx, y1: y1 + dy, x2: x2 + dx, y2: y2 + dy)
    }

    /// `other` cut to this box (empty, at an edge, when they do not meet).
    public func clip(_ other: Box) -> Box {
        func clamp(_ v: Double, _ lo: Double, _ hi: Double) -> Double { min(max(v, lo), hi) }
        return Box(
            x1: clamp(other.x1, x1, x2), y1: clamp(other.y1, y1, y2),
            x2: clamp(other.x2, x1, x2), y2: clamp(other.y2, y1, y2))
    }

    /// Intersection over union; 0 for disjoint or empty boxes.
    public func iou(_ other: Box) -> Double {
        let w = min(x2, other.x2) - max(x1, other.x1)
        let h = min(y2, other.y2) - max(y1, other.y1)
        guard w > 0, h > 0 else { return 0 }
        let intersection = w * h
        return intersection / (area + other.area - intersection)
    }
}

/// What the tracker is given for one object in one frame.
public struct Observation: Sendable, Equatable {
    public var box: Box
    /// Detector confidence in [0, 1].
    public var score: Double
    /// Detector class; ignored unless `TrackerConfig.perClass` is set.
    public var classID: Int

    public init(box: Box, score: Double, classID: Int = 0) {
        self.box = box
        self.score = score
        self.classID = classID
    }
}
