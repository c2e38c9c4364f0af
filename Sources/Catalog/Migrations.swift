/// The catalog schema in PostgreSQL, as numbered migrations applied in order at start-up
/// (`CatalogDatabase.migrate`). Each runs in its own transaction with its row in
/// `schema_migrations`; an advisory lock keeps two processes from migrating at once.
/// Never edit a released migration: add the next one.
public enum CatalogMigrations {
    public struct Migration: Sendable {
        public var version: Int
        public var name: String
        public var sql: String
    }

    /// The NOTIFY channel of the change log.
    public static let channel = "aisle_catalog_changes"

    public static let all: [Migration] = [
        Migration(version: 1, name: "catalog tables", sql: """
        CREATE TABLE categories (
            id        serial PRIMARY KEY,
            parent_id integer REFERENCES categories(id),
            name      text NOT NULL,
            path      text NOT NULL UNIQUE,          -- 'Furniture > Living Room > Sofas'
            depth     integer NOT NULL CHECK (depth >= 1)
        );
        CREATE INDEX categories_parent ON categories (parent_id);
        CREATE TABLE brands (
            id   serial PRIMARY KEY,
            name text NOT NULL UNIQUE
        );
        CREATE TABLE products (
            id                 text PRIMARY KEY,    -- the corpus's product id
            sku                text,
            title              text NOT NULL CHECK (title <> ''),
            description        text NOT NULL DEFAULT '',
            brand_id           integer REFERENCES brands(id),
            category_id        integer REFERENCES categories(id),
            price              numeric NOT NULL CHECK (price >= 0 AND price <> 'NaN'),
            list_price         numeric CHECK (list_price >= 0 AND list_price <> 'NaN'),
            currency           char(3) NOT NULL DEFAULT 'USD',
            rating             numeric CHECK (rating BETWEEN 0 AND 5),
            review_count       integer NOT NULL DEFAULT 0 CHECK (review_count >= 0),
            status             text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'draft', 'discontinued')),
            attributes_version integer NOT NULL DEFAULT 0,   -- bumped when the attribute document changes
            created_at         timestamptz NOT NULL DEFAULT now(),
            updated_at         timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX products_brand ON products (brand_id);
        CREATE INDEX products_category ON products (category_id);
        CREATE TABLE inventory (
            product_id text PRIMARY KEY REFERENCES products(id) ON DELETE CASCADE,
            available  integer NOT NULL DEFAULT 0 CHECK (available >= 0),
            reserved   integer NOT NULL DEFAULT 0 CHECK (reserved >= 0),
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        """),
        Migration(version: 2, name: "change log (outbox) and its triggers", sql: """
        -- One row per changed product, written by triggers in the transaction of the change.
        -- A reader consumes rows in (txid, id) order, only below the oldest running transaction
        -- (pg_snapshot_xmin of the current snapshot), so no row can appear behind its position.
        CREATE TABLE catalog_changes (
            id         bigserial PRIMARY KEY,
            txid       xid8 NOT NULL DEFAULT pg_current_xact_id(),
            product_id text NOT NULL,
            kind       text NOT NULL CHECK (kind IN ('insert', 'update', 'delete', 'price', 'stock')),
            changed_at timestamptz NOT NULL DEFAULT clock_timestamp()
        );
        CREATE INDEX catalog_changes_position ON catalog_changes (txid, id);

        CREATE FUNCTION catalog_products_before_update() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.id <> OLD.id THEN
                RAISE EXCEPTION 'a product id cannot change (% -> %): delete and insert instead', OLD.id, NEW.id;
            END IF;
            NEW.updated_at := now();
            RETURN NEW;
        END $$;
        CREATE TRIGGER products_before_update BEFORE UPDATE ON products
            FOR EACH ROW EXECUTE FUNCTION catalog_products_before_update();

        CREATE FUNCTION catalog_log_products() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'INSERT' THEN
                INSERT INTO catalog_changes (product_id, kind) SELECT n.id, 'insert' FROM new_rows n ORDER BY n.id;
            ELSIF TG_OP = 'DELETE' THEN
                INSERT INTO catalog_changes (product_id, kind) SELECT o.id, 'delete' FROM old_rows o ORDER BY o.id;
            ELSE
                INSERT INTO catalog_changes (product_id, kind)
                SELECT n.id,
                       CASE WHEN (n.sku, n.title, n.description, n.brand_id, n.category_id, n.currency, n.status,
                                  n.attributes_version, n.list_price)
                                 IS NOT DISTINCT FROM
                                 (o.sku, o.title, o.description, o.brand_id, o.category_id, o.currency, o.status,
                                  o.attributes_version, o.list_price)
                            THEN 'price' ELSE 'update' END
                FROM new_rows n JOIN old_rows o ON o.id = n.id
                WHERE (n.sku, n.title, n.description, n.brand_id, n.category_id, n.currency, n.status,
                       n.attributes_version, n.list_price, n.price, n.rating, n.review_count)
                      IS DISTINCT FROM
                      (o.sku, o.title, o.description, o.brand_id, o.category_id, o.currency, o.status,
                       o.attributes_version, o.list_price, o.price, o.rating, o.review_count)
                ORDER BY n.id;
            END IF;
            PERFORM pg_notify('\(channel)', '');
            RETURN NULL;
        END $$;
        CREATE TRIGGER products_log_insert AFTER INSERT ON products REFERENCING NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION catalog_log_products();
        CREATE TRIGGER products_log_update AFTER UPDATE ON products REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION catalog_log_products();
        CREATE TRIGGER products_log_delete AFTER DELETE ON products REFERENCING OLD TABLE AS old_rows
            FOR EACH STATEMENT EXECUTE FUNCTION catalog_log_products();

        CREATE FUNCTION catalog_log_inventory() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'INSERT' THEN
                INSERT INTO catalog_changes (product_id, kind) SELECT n.product_id, 'stock' FROM new_rows n ORDER BY 1;
            ELSIF TG_OP = 'DELETE' THEN
                INSERT INTO catalog_changes (product_id, kind) SELECT o.product_id, 'stock' FROM old_rows o ORDER BY 1;
            ELSE
                INSERT INTO catalog_changes (product_id, kind)
                SELECT n.product_id, 'stock' FROM new_rows n JOIN old_rows o ON o.product_id = n.product_id
                WHERE (n.available, n.reserved) IS DISTINCT FROM (o.available, o.reserved) ORDER BY 1;
            END IF;
            PERFORM pg_notify('\(channel)', '');
            RETURN NULL;
        END $$;
        CREATE TRIGGER inventory_log_insert AFTER INSERT ON inventory REFERENCING NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION catalog_log_inventory();
        CREATE TRIGGER inventory_log_update AFTER UPDATE ON inventory REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION catalog_log_inventory();
        CREATE TRIGGER inventory_log_delete AFTER DELETE ON inventory REFERENCING OLD TABLE AS old_rows
            FOR EACH STATEMENT EXECUTE FUNCTION catalog_log_inventory();

        -- Renaming a brand or a category changes every product that shows it.
        CREATE FUNCTION catalog_log_brands() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO catalog_changes (product_id, kind)
            SELECT p.id, 'update' FROM products p JOIN new_rows n ON n.id = p.brand_id JOIN old_rows o ON o.id = n.id
            WHERE n.name IS DISTINCT FROM o.name ORDER BY p.id;
            PERFORM pg_notify('\(channel)', '');
            RETURN NULL;
        END $$;
        CREATE TRIGGER brands_log_update AFTER UPDATE ON brands REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION catalog_log_brands();
        CREATE FUNCTION catalog_log_categories() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO catalog_changes (product_id, kind)
            SELECT p.id, 'update' FROM products p JOIN new_rows n ON n.id = p.category_id JOIN old_rows o ON o.id = n.id
            WHERE (n.name, n.path) IS DISTINCT FROM (o.name, o.path) ORDER BY p.id;
            PERFORM pg_notify('\(channel)', '');
            RETURN NULL;
        END $$;
        CREATE TRIGGER categories_log_update AFTER UPDATE ON categories REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION catalog_log_categories();
        """),
    ]
}
