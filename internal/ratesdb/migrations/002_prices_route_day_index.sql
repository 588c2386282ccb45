-- Without it every /rates call is a sequential scan of prices (about 20 times slower on
-- the reference dump). It serves the equality on the route and the range on day.
CREATE INDEX IF NOT EXISTS prices_route_day_idx ON prices (orig_code, dest_code, day);
