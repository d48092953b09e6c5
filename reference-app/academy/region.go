package academy

import (
	"context"
	"hash/fnv"
	"regexp"

	"github.com/google/uuid"
)

// ShardOfRegion returns the shard, in [0, n), of a user's rows when the store shards by
// region and user: the guide's hash(region + user_id) % num_shards, with FNV-1a over the
// region's bytes followed by the id's 16 bytes. ShardOf is the same without the region.
func ShardOfRegion(region string, id uuid.UUID, n int) int {
	if n <= 1 {
		return 0
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(region))
	_, _ = h.Write(id[:])
	return int(h.Sum64() % uint64(n))
}

// SeedRegions are the regions seeded students live in, in turn (student i in
// SeedRegions[(i-1) % 3]); the admin and instructors have none.
var SeedRegions = []string{"eu", "us", "apac"}

var regionRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)

// ValidateRegion checks a region name: empty (none), or 1 to 32 lower-case letters,
// digits and hyphens, not starting with a hyphen.
func ValidateRegion(region string) error {
	if region != "" && !regionRE.MatchString(region) {
		return Invalid("region", "must be 1 to 32 lower-case letters, digits and hyphens")
	}
	return nil
}

// RegisterInRegion is Register for a user living in region (see ValidateRegion): a store
// that shards by region and user keeps the user's rows on ShardOfRegion(region, id, N).
func (s *Service) RegisterInRegion(ctx context.Context, email, password, name, region string) (User, error) {
	if err := ValidateRegion(region); err != nil {
		return User{}, err
	}
	return s.register(ctx, email, password, name, region)
}
