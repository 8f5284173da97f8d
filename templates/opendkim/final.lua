-- Runs after verification. Mail from our own users is being signed, not
-- checked. Other mail needs one valid signature of the From: domain; it is
-- then accepted with its DKIM-Signature headers removed, otherwise refused.
--
-- opendkim also runs this once at start-up with placeholder values, where
-- any Lua error crashes it; hence the pcall. A real error during a
-- delivery defers the message (451) rather than letting it through.
local function decide()
    if odkim.get_mtasymbol(ctx, "{daemon_name}") == "ORIGINATING" then
        return
    end

    local from = odkim.get_fromdomain(ctx)
    local n = odkim.get_sigcount(ctx) or 0
    local failure = nil
    for i = 0, n - 1 do
        local sig = odkim.get_sighandle(ctx, i)
        local d = odkim.sig_getdomain(sig)
        if from ~= nil and d ~= nil and string.lower(d) == string.lower(from) then
            local result = odkim.sig_result(sig)
            if result == 0 then
                for h = n - 1, 0, -1 do
                    odkim.del_header(ctx, "DKIM-Signature", h)
                end
                return
            end
            failure = result
        end
    end

    if failure == nil then
        odkim.set_reply(ctx, "554", "5.7.1", "No valid DKIM signature found")
    else
        odkim.set_reply(ctx, "554", "5.7.1", "DKIM signature is invalid, error code " .. failure)
    end
    odkim.set_result(ctx, SMFIS_REJECT)
end

if not pcall(decide) then
    pcall(function()
        odkim.set_reply(ctx, "451", "4.7.1", "DKIM check failed, try again later")
        odkim.set_result(ctx, SMFIS_TEMPFAIL)
    end)
end
return nil
