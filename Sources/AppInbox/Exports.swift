// AppInbox's API is made of ResponderCore's types (a handler takes a Request and returns a
// Response), so importing AppInbox brings them along, as Hummingbird does with HummingbirdCore.
@_exported import ResponderCore
