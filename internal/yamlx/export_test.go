package yamlx

// Get is get, for the black-box tests.
var Get = get
