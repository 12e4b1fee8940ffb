package retry

// ParsePushbackForTest exposes parsePushback to the black-box fuzz target.
var ParsePushbackForTest = parsePushback
