-- Sharding by region and user (Options.ShardBy "region"): each user's region, and on the
-- catalog shard the directory that finds a user's shard from the user's id.
ALTER TABLE users ADD COLUMN region text NOT NULL DEFAULT '';
CREATE TABLE user_regions (
    user_id uuid PRIMARY KEY,
    region  text NOT NULL
);
