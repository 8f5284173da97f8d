-- Runs before verification: only signatures made by the From: domain count
-- (strict alignment), all others are left out of the verdict.
--
-- opendkim also runs this once at start-up with placeholder values, where
-- any Lua error crashes it; hence the pcall.
local function screen()
    local from = odkim.get_fromdomain(ctx)
    local n = odkim.get_sigcount(ctx)
    if from == nil or n == nil then
        return
    end
    from = string.lower(from)
    for i = 0, n - 1 do
        local sig = odkim.get_sighandle(ctx, i)
        local d = odkim.sig_getdomain(sig)
        if d == nil or string.lower(d) ~= from then
            odkim.sig_ignore(sig)
        end
    end
end

pcall(screen)
return nil
