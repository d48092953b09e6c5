package stats

// SplitForTest exposes splitSegment to the black-box tests.
var SplitForTest = splitSegment
