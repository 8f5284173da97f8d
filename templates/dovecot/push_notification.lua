-- Tells chatmaild metadata about each new message so it can wake the
-- recipient's devices: a metadata write of /private/messagenew becomes a
-- dict transaction on the metadata socket.

function dovecot_lua_notify_begin_txn(user)
    return user
end

function dovecot_lua_notify_event_message_new(user, event)
    local mbox = user:mailbox(event.mailbox)
    mbox:sync()
    -- Messages the user sent to themselves wake nobody.
    if user.username ~= event.from_address then
        mbox:metadata_set("/private/messagenew", "")
    end
    mbox:free()
end

function dovecot_lua_notify_end_txn(ctx, success)
end
