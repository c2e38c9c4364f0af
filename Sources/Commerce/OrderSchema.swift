/// Commerce's order and inventory tables (migration 2). See ARCHITECTURE.md, "Orders".
///
/// - `orders` is the write side's head of each order's stream: its current status and version,
///   changed only together with an event (the optimistic version check is `UPDATE … WHERE version
///   = $seen`), and what the expiry sweeper locks (`FOR UPDATE SKIP LOCKED`).
/// - `order_events` is the history: one row per event, unique per (aggregate, version). State is
///   the fold of these rows; `txid` orders them for the projector (like the catalog's change log).
/// - `order_lines` is the product snapshot of each line (also in the `OrderPlaced` data).
/// - `stock_movements` is the ledger: a statement trigger on the catalog's `inventory` writes a row
///   for every change of `available`, whoever makes it, in the same transaction. Commerce names the
///   reason and the order with `set_config('aisle.stock_reason' | 'aisle.stock_order', …, true)`;
///   anything else (a catalog load, a script) is recorded as `catalog`. Existing stock is recorded
///   once as `opening`, so for every product: available = sum of its movements.
/// - `order_idempotency` maps (customer, Idempotency-Key) to the order, written in the order's
///   transaction.
/// - `order_summaries` is the read model of `GET /api/v1/orders`, kept by the projector from the
///   events; `projector_checkpoints` is where it has got to.
enum OrderSchema {
    static let notifyChannel = "aisle_order_events"

    static let migration = (version: 2, name: "orders, events, stock ledger, read model", sql: """
    CREATE TABLE orders (
        id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        customer_id bigint NOT NULL REFERENCES customers(id),
        status      text NOT NULL CHECK (status IN ('pending', 'paid', 'shipped', 'delivered', 'canceled', 'expired')),
        version     integer NOT NULL CHECK (version >= 1),
        placed_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
        expires_at  timestamptz NOT NULL
    );
    CREATE INDEX orders_customer ON orders (customer_id, id);
    CREATE INDEX orders_pending_expiry ON orders (expires_at) WHERE status = 'pending';

    CREATE TABLE order_lines (
        order_id   bigint NOT NULL REFERENCES orders(id),
        line_no    integer NOT NULL CHECK (line_no >= 1),
        product_id text NOT NULL,
        title      text NOT NULL,
        brand      text,
        unit_price numeric NOT NULL CHECK (unit_price >= 0),
        quantity   integer NOT NULL CHECK (quantity > 0),
        PRIMARY KEY (order_id, line_no),
        UNIQUE (order_id, product_id)
    );

    CREATE TABLE order_events (
        id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        txid           xid8 NOT NULL DEFAULT pg_current_xact_id(),
        aggregate_type text NOT NULL DEFAULT 'order',
        aggregate_id   bigint NOT NULL,
        event_type     text NOT NULL,
        data           jsonb NOT NULL,
        version        integer NOT NULL CHECK (version >= 1),
        occurred_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
        actor          text NOT NULL,
        UNIQUE (aggregate_type, aggregate_id, version)
    );
    CREATE INDEX order_events_position ON order_events (txid, id);
    CREATE FUNCTION commerce_notify_order_events() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_notify('\(notifyChannel)', '');
        RETURN NULL;
    END $$;
    CREATE TRIGGER order_events_notify AFTER INSERT ON order_events
        FOR EACH STATEMENT EXECUTE FUNCTION commerce_notify_order_events();

    CREATE TABLE stock_movements (
        id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        product_id      text NOT NULL,
        delta           integer NOT NULL CHECK (delta <> 0),
        available_after integer NOT NULL CHECK (available_after >= 0),
        reason          text NOT NULL,
        order_id        bigint,
        moved_at        timestamptz NOT NULL DEFAULT clock_timestamp()
    );
    CREATE INDEX stock_movements_product ON stock_movements (product_id, id);
    CREATE INDEX stock_movements_order ON stock_movements (order_id) WHERE order_id IS NOT NULL;

    CREATE FUNCTION commerce_log_stock() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        why text := coalesce(nullif(current_setting('aisle.stock_reason', true), ''), 'catalog');
        ord bigint := nullif(current_setting('aisle.stock_order', true), '')::bigint;
    BEGIN
        IF TG_OP = 'INSERT' THEN
            INSERT INTO stock_movements (product_id, delta, available_after, reason, order_id)
            SELECT n.product_id, n.available, n.available, why, ord FROM new_rows n WHERE n.available <> 0 ORDER BY 1;
        ELSIF TG_OP = 'DELETE' THEN
            INSERT INTO stock_movements (product_id, delta, available_after, reason, order_id)
            SELECT o.product_id, -o.available, 0, why, ord FROM old_rows o WHERE o.available <> 0 ORDER BY 1;
        ELSE
            INSERT INTO stock_movements (product_id, delta, available_after, reason, order_id)
            SELECT n.product_id, n.available - o.available, n.available, why, ord
            FROM new_rows n JOIN old_rows o ON o.product_id = n.product_id
            WHERE n.available <> o.available ORDER BY 1;
        END IF;
        RETURN NULL;
    END $$;
    CREATE TRIGGER inventory_ledger_insert AFTER INSERT ON inventory REFERENCING NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION commerce_log_stock();
    CREATE TRIGGER inventory_ledger_update AFTER UPDATE ON inventory REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION commerce_log_stock();
    CREATE TRIGGER inventory_ledger_delete AFTER DELETE ON inventory REFERENCING OLD TABLE AS old_rows
        FOR EACH STATEMENT EXECUTE FUNCTION commerce_log_stock();
    INSERT INTO stock_movements (product_id, delta, available_after, reason)
    SELECT product_id, available, available, 'opening' FROM inventory WHERE available <> 0 ORDER BY product_id;

    CREATE TABLE order_idempotency (
        customer_id  bigint NOT NULL,
        key          text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
        request_hash text NOT NULL,
        order_id     bigint NOT NULL REFERENCES orders(id),
        created_at   timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (customer_id, key)
    );

    CREATE TABLE order_summaries (
        order_id    bigint PRIMARY KEY,
        customer_id bigint NOT NULL,
        status      text NOT NULL,
        version     integer NOT NULL,
        currency    text NOT NULL,
        total       numeric NOT NULL,
        item_count  integer NOT NULL,
        line_count  integer NOT NULL,
        first_title text NOT NULL,
        placed_at   timestamptz NOT NULL,
        updated_at  timestamptz NOT NULL
    );
    CREATE INDEX order_summaries_customer ON order_summaries (customer_id, order_id DESC);

    CREATE TABLE projector_checkpoints (
        name       text PRIMARY KEY,
        txid       xid8 NOT NULL,
        event_id   bigint NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
    );
    """)
}
