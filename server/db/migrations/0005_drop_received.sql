-- What a drop link has received over its life: files (and their bytes)
-- whose upload completed, whether the owner has since adopted them into
-- the folder or discarded them. A drop's limits count these plus the
-- uploads in progress; counting only the files not yet adopted let a link
-- meant for two files take two more each time the owner opened the folder.
ALTER TABLE links ADD COLUMN received_files INTEGER NOT NULL DEFAULT 0;
ALTER TABLE links ADD COLUMN received_bytes INTEGER NOT NULL DEFAULT 0;
UPDATE links SET
    received_files = (SELECT COUNT(*) FROM drop_files WHERE drop_files.link = links.id),
    received_bytes = (SELECT COALESCE(SUM(size), 0) FROM drop_files WHERE drop_files.link = links.id)
WHERE kind = 'drop';
