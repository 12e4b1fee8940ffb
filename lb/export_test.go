package lb

// Test hooks: what the black-box tests and fuzz targets call directly but
// callers outside the package reach through Config, DiscoveryConfig and
// Resolver.

var (
	BalancerName       = balancerName
	CheckServiceConfig = checkServiceConfig
	ErrGRPCLB          = errGRPCLB
	ParseAddrList      = parseAddrList
	ParseEtcdEndpoint  = parseEtcdEndpoint
	PublishFile        = publishFile
	Static             = newStaticSource
	File               = newFileSource
	Etcd               = newEtcdSource
	NewEtcdPublisher   = newEtcdPublisher
	ValidateAddr       = validateAddr
)
