-- Runs before verification: only signatures made by the From: domain count
-- (strict alignment), all others are left out of the verdict.
local from = odkim.get_fromdomain(ctx)
local n = odkim.get_sigcount(ctx)
if from ~= nil and n ~= nil then
    from = string.lower(from)
    for i = 0, n - 1 do
        local sig = odkim.get_sighandle(ctx, i)
        local d = odkim.sig_getdomain(sig)
        if d == nil or string.lower(d) ~= from then
            odkim.sig_ignore(sig)
        end
    end
end
return nil
