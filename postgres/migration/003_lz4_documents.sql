-- Compress the stored documents (listing and verdict of each screening,
-- statements of reasons) with LZ4 instead of the default pglz: most
-- screening rows are over the TOAST threshold, and pglz was the largest
-- single cost of a stream worker's writes on the database side. Only new
-- values are affected; old ones stay readable. A server built without LZ4
-- keeps pglz.
DO $$
BEGIN
	ALTER TABLE screenings ALTER COLUMN listing_json SET COMPRESSION lz4, ALTER COLUMN verdict_json SET COMPRESSION lz4;
	ALTER TABLE statements ALTER COLUMN body SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR syntax_error THEN -- no LZ4, or PostgreSQL before 14
	RAISE NOTICE 'this server has no LZ4 support: documents stay compressed with pglz';
END
$$;
