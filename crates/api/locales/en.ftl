# The web app's words in English: the default language, and the fallback for a
# message another catalog lacks. Project Fluent's format (https://projectfluent.org):
# `id = text`, `{ $name }` for an argument, `{ $count -> [one] … *[other] … }` for a
# plural. Templates use `t("id")` or `t("id", name=value)`; handlers
# `Visitor::t`/`Visitor::tf`. To translate, copy this file to `<language>.ftl`
# (de.ftl, pt-BR.ftl) in SLUICE_LOCALES_DIR and change the texts, not the ids.

## The layout: navigation and footer

layout-skip = Skip to the content
nav-main = Main
nav-home = Home
nav-local = This server
nav-federated = Federated
nav-notifications = Notifications
nav-direct = Direct
nav-bookmarks = Bookmarks
nav-favourites = Favourites
nav-lists = Lists
nav-search = Search
nav-profile = Profile
nav-settings = Settings
nav-sign-out = Sign out
nav-about = About
nav-sign-in = Sign in
nav-sign-up = Sign up

## Shared by several pages

more = More
more-posts = More posts
older = Older
older-posts = Older posts
timeline-empty = Nothing here yet.
visibility-public = Public
visibility-unlisted = Unlisted
visibility-private = Followers only
visibility-direct = Mentioned people only

## Error pages

error-title = Error
error-not-found = The page you are looking for isn't here.
error-form-expired = This form has expired or did not come from this site. Go back, reload the page and try again.
error-own-account = That is your own account.
error-no-such-account = No such account
error-account-suspended = This account is suspended.
error-account-gone = This account is gone: it was deleted.

## About

about-title = About
about-stats = { $users } people · { $statuses } posts · a Sluice server on the fediverse: people here can follow and talk with people on Mastodon and every other server that speaks ActivityPub.
about-open = Anyone may join.
about-sign-up = Sign up
about-approval = You may ask to join: an administrator reviews each request.
about-ask-to-join = Ask to join
about-closed = This server is not taking new sign-ups.
about-have-account = Already have an account?
about-sign-in = Sign in
about-rules = Rules
about-no-rules = This server has not published rules.
about-contact = Contact
about-run-by = Run by
about-no-contact = No contact given.

## Timelines and lists of accounts

timeline-home = Home
timeline-local = This server
timeline-federated = Federated
timeline-bookmarks = Bookmarks
timeline-favourites = Favourites
follow-requests-title = Follow requests
follow-requests-empty = Nobody is asking to follow you.
account-approve = Approve
account-reject = Reject
account-remove-from-list = Remove from list

## Sign in, sign up, passwords

sign-in-heading = Sign in to { $title }
sign-in-confirmed = Your address is confirmed: sign in.
sign-in-password-set = Your password is set: sign in with it.
sign-in-login = E-mail address or username
sign-in-password = Password
sign-in-new-here = New here?
sign-in-no-mail = No confirmation mail?
sign-in-send-again = Send the link again
sign-in-code-title = Two-factor sign-in
sign-in-code-start-again = Start again
sign-up-confirm = A link to confirm your address is on its way to { $email }. Open it, then sign in.
sign-up-thanks = Thank you
sign-up-pending = Your request to join { $title } is waiting for an administrator's approval. You can sign in once it is approved.
sign-up-closed = Sign-ups are closed
sign-up-closed-text = { $title } is not taking new accounts.
sign-up-about-server = About this server
sign-up-heading = Join { $title }
sign-up-username = Username
sign-up-username-hint = Letters, digits and _; you will be @name@{ $domain }.
sign-up-email = E-mail address
sign-up-password-again = Password again
sign-up-reason = Why do you want to join?
sign-up-accept = I accept the
sign-up-rules = rules of this server
sign-up-passwords-differ = The password and its confirmation differ.
password-title = Password
password-forgot = Forgot your password?
password-email = Your account's e-mail address
password-send-link = Send me a link
password-no-mail = This server sends no mail: ask its administrator to reset your password.
password-choose = Choose a new password
password-new = New password
password-new-again = New password again
password-set = Set the password
password-check-mail = Check your e-mail
password-passwords-differ = The password and its confirmation differ.
password-link-sent = If that address belongs to an account here, a link to choose a new password is on its way. It works for an hour.
confirmation-title = Confirmation
confirmation-link-sent = If that account still has to confirm its address, a new link is on its way.

## OAuth pages

authorize-title = Authorize { $app }
authorize-asks = This application asks for access to your account with these permissions:
authorize-approve = Authorize
authorize-deny = Deny
authorize-denied = Authorization was denied.
code-title = Authorization code
code-copy = Copy this code and paste it into the application.
two-factor-code-label = The code from your authenticator app, or a recovery code

## Posting

compose-edit-post = Edit post
compose-new-post = New post
compose-reply = Reply
compose-cw = Content warning (optional)
compose-your-post = Your post
compose-reply-to = Reply to @{ $acct }
compose-prompt = What's on your mind?
compose-media-sensitive = Media are sensitive
compose-attach = Attach images, video or audio
compose-file = File { $n }
compose-file-description = Description of file { $n } (alt text)
compose-mark-sensitive = Mark media as sensitive
compose-poll = Add a poll
compose-poll-option = Choice { $n }
compose-poll-ends = Ends in
compose-poll-multiple = Allow several choices
compose-visibility = Visibility
compose-characters-left = { $count } characters left
compose-save = Save
compose-post = Post
compose-edit-hint = Media and audience stay as they are; the text, content warning and sensitivity change, and the post's history keeps the earlier version.
compose-edit-title = Edit post
compose-redraft-title = Redraft
compose-bad-visibility = '{ $visibility }' is not a visibility

## Media

media-sensitive-show = Sensitive media: show
media-video = Video
media-audio = Audio
media-attachment = Attachment
media-grid-label = Media
media-no-description = no description
media-grid-empty = No media yet.

## Direct messages

conversations-title = Direct messages
conversations-hint = Posts only the people they mention can see. Start one by posting with the visibility “Mentioned people only”.
conversations-label = Conversations
conversations-with = With
conversations-unread = unread
conversations-empty = No direct messages yet.

## Lists

lists-title = Lists
lists-empty = No lists yet.
lists-new = New list
lists-create = Create
list-members = Members
list-no-members = Nobody yet.
list-add-label = Add someone you follow (user or user@server)
list-add = Add
list-delete = Delete this list
list-unknown-account = No account { $acct } is known here.

## Notifications

notifications-title = Notifications
notifications-empty = No notifications yet.
notifications-more = More notifications
notification-mention = mentioned you
notification-follow = followed you
notification-follow-request = asked to follow you
notification-favourite = favourited your post
notification-reblog = boosted your post
notification-status = posted
notification-update = edited a post you boosted
notification-poll = : a poll has ended
notification-admin-report = reported @{ $name }

## Profiles

profile-locked = approves followers
profile-bot = automated
profile-posts =
    { $count ->
        [one] { $count } post
       *[other] { $count } posts
    }
profile-following = { $count } following
profile-followers =
    { $count ->
        [one] { $count } follower
       *[other] { $count } followers
    }
profile-follows-you = Follows you
profile-follow = Follow
profile-unfollow = Unfollow
profile-cancel-request = Cancel request
profile-mute = Mute
profile-unmute = Unmute
profile-muted = Muted
profile-muted-until = Muted until
profile-mute-for = Mute for
profile-mute-notifications = Hide notifications from them too
mute-indefinitely = Indefinitely
mute-minutes =
    { $count ->
        [one] { $count } minute
       *[other] { $count } minutes
    }
mute-hours =
    { $count ->
        [one] { $count } hour
       *[other] { $count } hours
    }
mute-days =
    { $count ->
        [one] { $count } day
       *[other] { $count } days
    }
mute-bad-duration = The mute's duration must be a number of seconds (0: until you unmute).
profile-block = Block
profile-unblock = Unblock
profile-remote-follow-label = Follow from your server: your handle
profile-tab-posts = Posts
profile-tab-replies = Posts and replies
profile-tab-media = Media
profile-pinned-posts = Pinned posts
profile-pinned = Pinned
profile-no-posts = No posts yet.

## Following from another server, remote posts

remote-follow-title = Follow @{ $acct }
remote-follow-heading = Follow { $name }
remote-follow-text = Your server has a page for following @{ $handle }:
remote-follow-continue = Continue to your server
interact-not-found = Nothing was found at { $what }: no post or account this server could fetch.
interact-missing-uri = Say which post or account: ?uri=
interact-give-handle = Give your handle as you@your.server.
interact-no-federation = This server does not federate.
interact-server-unreachable = Your server could not be asked: { $error }
interact-no-follow-page = Your server gave no web address to follow from.

## Threads

status-heading = Post by { $name }
status-ancestors = Earlier in the thread
status-reply = Reply
status-replies = Replies
status-replies-to-this =
    { $count ->
        [one] { $count } reply to this
       *[other] { $count } replies to this
    }
status-boosted-by = Boosted by { $name }
status-replies-count =
    { $count ->
        [one] { $count } reply
       *[other] { $count } replies
    }
status-boosts-count =
    { $count ->
        [one] { $count } boost
       *[other] { $count } boosts
    }
status-favourites-count =
    { $count ->
        [one] { $count } favourite
       *[other] { $count } favourites
    }
poll-choose-one = Choose one
poll-choose-many = Choose one or more
poll-vote = Vote
quote-unavailable = { $state ->
    [pending] The quoted post awaits its author's approval.
    [rejected] The author of the quoted post did not allow this quote.
    [revoked] The author of the quoted post removed this quote.
    [deleted] The quoted post was deleted.
    [muted_account] This quotes a post by someone you muted.
    [blocked_account] This quotes a post by someone you blocked.
    [blocked_domain] This quotes a post from a server you blocked.
   *[other] The quoted post is not available.
}
poll-your-choice = (your choice)
poll-option-votes =
    { $count ->
        [one] { $count } vote
       *[other] { $count } votes
    }
poll-voters =
    { $count ->
        [one] { $count } person voted
       *[other] { $count } people voted
    }
poll-ends = ends
poll-ended = ended
poll-vote-none = Choose an option to vote.
status-favourite = Favourite
status-reactions = Reactions
status-reaction =
    { $count ->
        [one] { $emoji }, { $count } reaction
       *[other] { $emoji }, { $count } reactions
    }
status-react = React with { $emoji }
status-unfavourite = Unfavourite
status-boost = Boost
status-unboost = Unboost
status-bookmark = Bookmark
status-unbookmark = Remove bookmark
status-edit = Edit
status-pin = Pin
status-unpin = Unpin
status-delete = Delete
status-redraft = Delete and redraft

## Hashtags

tag-views = Views
tag-posts = Posts
tag-media = Media
tag-posts-tagged = Posts tagged #{ $tag }
tag-empty = No posts with #{ $tag } yet.

## Search

search-title = Search
search-label = People by name or handle (user@server), posts by their words (from:me, has:media, before:2025-01-31 …); or paste the address of a post or profile from any server
search-people = People
search-none = Nobody found for “{ $q }”.
search-posts = Posts
search-no-posts = No posts found for “{ $q }”.

## Settings

settings-title = Settings
settings-all = All settings
settings-saved = Saved.
settings-section-profile = Profile
settings-section-preferences = Preferences
settings-section-password = Password
settings-section-two-factor = Two-factor sign-in
settings-section-filters = Filters
settings-section-blocks = Blocked accounts
settings-section-mutes = Muted accounts
settings-section-domain-blocks = Blocked domains
settings-section-applications = Authorized apps
settings-section-sessions = Sessions
settings-section-aliases = Aliases
settings-section-migration = Move account
settings-section-export = Export
settings-section-delete = Delete account
settings-section-import = Import
settings-import-saved = Your file was received; it is being imported.
settings-import-intro = Import a CSV file exported from Sluice or Mastodon (at most { $max } KiB). Merge adds what the file names; overwrite also undoes what it does not name.
settings-import-type-label = What the file holds
settings-import-mode = Mode
settings-import-merge = Merge
settings-import-overwrite = Overwrite
settings-import-file = File
settings-import-start = Import
settings-import-failed = { $count } not imported
settings-import-done = done
settings-import-too-large = The file is larger than { $max } KiB.
settings-import-type = Choose what the file holds.
settings-import-unreadable = The file is not a CSV file.
settings-delete-intro = Delete { $handle } for good: your posts, follows and everything else are removed, the servers that know the account are told, and nobody can take its name again. This cannot be undone.
settings-delete-button = Delete my account
settings-account-not-found = No account was found with that address.
settings-aliases-saved = Your aliases were saved.
settings-aliases-intro = Moving from another account to { $handle }? Name it here first: the other account can then move its followers to this one.
settings-aliases-label = The old account's address
settings-aliases-add = Add alias
settings-aliases-remove = Remove
settings-aliases-empty = This account has no aliases.
settings-migration-saved = Your account moved. Your followers are being moved to the new account.
settings-migration-moved = This account has moved to { $target }.
settings-migration-last = Last move: { $when }. An account can move once every 30 days.
settings-migration-intro = Move { $handle } to another account: its followers will follow the new account, and this one will show that it moved and will not post any more. The new account must first name { $handle } among its aliases.
settings-migration-target = The new account's address
settings-migration-move = Move followers
settings-export-intro = Download your data as CSV files, in the formats Mastodon reads and writes.
settings-export-saved = Your archive is being made; it will be listed here once ready.
settings-export-archive = Request your archive
settings-export-archive-intro = An archive holds your profile, your posts and their activities, your favourites and bookmarks, and your media files, as Mastodon lays them out. You can ask for one every 7 days.
settings-export-archive-pending = being made
settings-export-archive-failed = could not be made
settings-export-archive-download = Download ({ $kib } KiB)
settings-export-follows = Accounts you follow
settings-export-followers = Your followers
settings-export-blocks = Accounts you block
settings-export-mutes = Accounts you mute
settings-export-domain-blocks = Domains you block
settings-export-lists = Your lists
settings-export-bookmarks = Your bookmarks
settings-accounts-empty = Nobody here.
settings-more-accounts = More accounts
settings-unmute = Unmute
settings-muted-until = until
settings-unblock = Unblock
settings-apps-saved = The app's access was revoked.
settings-apps-hint = Apps you signed in to with this account. Revoking one signs it out at once.
settings-apps-may = May: { $scopes }
settings-apps-authorized = authorized { $at }
settings-apps-revoke = Revoke
settings-apps-revoke-label = Revoke { $app }
settings-apps-empty = You have not authorized any app.
settings-domains-saved = Your blocked domains were saved.
settings-domains-label = Block a domain
settings-domains-hint = You will not see posts or notifications from its accounts, and its accounts that follow you stop following you.
settings-domains-block = Block domain
settings-domains-unblock = Unblock
settings-domains-unblock-label = Unblock { $domain }
settings-domains-empty = You have not blocked any domain.
settings-domains-more = More domains
settings-domains-enter = Enter a domain to block, such as example.com.
settings-password-saved = Your password was changed. Every other browser and app signed in to your account was signed out.
settings-password-current = Current password
settings-password-hint = At least { $min } characters. Changing it signs out every other browser and app.
settings-password-change = Change password
settings-password-differ = The new password and its confirmation differ.
preferences-visibility = Who sees your posts, unless you choose otherwise
preferences-sensitive = Mark my media as sensitive, unless I choose otherwise
preferences-save = Save preferences
preferences-visibility-public = Public: everyone, in public timelines
preferences-visibility-unlisted = Unlisted: everyone, but not in public timelines
preferences-quote = Who may quote your posts, unless you choose otherwise
preferences-quote-public = Anyone
preferences-quote-followers = Your followers
preferences-quote-nobody = Only you
profile-settings-saved = Your profile was saved.
profile-settings-see-it = See it
profile-settings-display-name = Display name
profile-settings-bio = Bio
profile-settings-bio-hint = Up to { $max } characters; links, @mentions and #hashtags work.
profile-settings-fields = Profile fields
profile-settings-fields-hint = Up to { $count } label and content pairs shown on your profile, such as a website or pronouns.
profile-settings-field-label = Label { $n }
profile-settings-field-content = Content { $n }
profile-settings-images = Images
profile-settings-avatar-now = Your avatar now
profile-settings-new-avatar = New avatar
profile-settings-remove-avatar = Remove the avatar
profile-settings-header-now = Your header image now
profile-settings-new-header = New header image
profile-settings-remove-header = Remove the header image
profile-settings-image-hint = PNG, JPEG, GIF or WebP, at most 2 MB. Leave empty to keep the image you have.
profile-settings-account = Account
profile-settings-locked = Approve followers by hand
profile-settings-bot = This is an automated account (a bot)
profile-settings-discoverable = Suggest this account to others, and list it in the directory
profile-settings-indexable = Let people on this server find my public posts by their words (search)
profile-settings-save = Save profile
filters-saved = Your filters were saved.
filters-new = New filter
filters-hides = Hides matching posts in: { $contexts }
filters-warns = Warns about matching posts in: { $contexts }
filters-expires = expires { $at }
filters-whole-word = whole word
filters-no-keywords = No keywords.
filters-edit = Edit
filters-edit-label = Edit { $title }
filters-delete = Delete
filters-delete-label = Delete { $title }
filters-empty = You have no filters. A filter hides posts with the words you choose, or puts them behind a warning.
filter-title = Title
filter-contexts = Where it applies
filter-action = What it does to a matching post
filter-action-warn = Show it behind a warning that names the filter
filter-action-hide = Hide it completely
filter-expires = Expires
filter-keywords = Keywords
filter-keywords-hint = A post matches when it contains any of these. Leave a row empty to add nothing; save and edit again for more rows.
filter-keyword = Keyword { $n }
filter-whole-word = Whole word
filter-remove = Remove
filter-save = Save filter
filter-add = Add filter
filter-cancel = Cancel
filter-edit-title = Edit filter
filter-new-title = New filter
filter-context-home = Home and lists
filter-context-notifications = Notifications
filter-context-public = Public timelines
filter-context-thread = Conversations
filter-context-account = Profiles
filter-expires-never = Never
filter-expires-1800 = In 30 minutes
filter-expires-3600 = In an hour
filter-expires-21600 = In 6 hours
filter-expires-43200 = In 12 hours
filter-expires-86400 = In a day
filter-expires-604800 = In a week
filter-expires-2592000 = In 30 days
filter-expires-keep = Keep: { $at }
filter-expires-keep-never = Keep: never
sessions-saved = The session was ended.
sessions-hint = The browsers signed in to your account. Ending a session signs that browser out.
sessions-unknown-browser = Unknown browser
sessions-this-browser = this browser
sessions-last-seen = Last seen { $at } from { $ip }
sessions-signed-in = signed in { $at }
sessions-sign-out = Sign out this browser
sessions-end = End this session
two-factor-saved = Two-factor sign-in is off.
two-factor-on = Two-factor sign-in is on
two-factor-keep-codes = Keep these recovery codes somewhere safe: each signs you in once without the app. They are shown only now.
two-factor-on-hint = Two-factor sign-in is on: signing in asks for a code from your authenticator app after the password. Recovery codes left: { $left }.
two-factor-new-codes = New recovery codes
two-factor-new-codes-hint = New codes replace the old ones, used or not.
two-factor-new-codes-button = Make new recovery codes
two-factor-turn-off = Turn it off
two-factor-turn-off-button = Turn off two-factor sign-in
two-factor-replace = Replace the authenticator app
two-factor-set-up-app = Set up your authenticator app
two-factor-scan = Scan this code with an authenticator app, or enter the key by hand.
two-factor-qr = QR code of the key for your authenticator app
two-factor-key = Key:
two-factor-or-open = Or open:
two-factor-code = The code the app shows
two-factor-confirm = Confirm and turn on
two-factor-off-hint = Two-factor sign-in is off. With it on, signing in asks for a code from an authenticator app after the password.
two-factor-new-app = Set up a new authenticator app
two-factor-set-up = Set up two-factor sign-in

## What the page script says (`{ $name }`: a value the script puts in)

script-characters-left = { $n } characters left
script-reconnecting = Reconnecting… posts made meanwhile will appear when it is back.
script-reconnected = Connected again: nothing was missed.
script-stopped = Live updates stopped. Reload the page to see new posts.
script-reply-failed = The reply was not posted ({ $status }).
script-replies = Replies

## The moderators' pages (/admin)
admin-title = Moderation
admin-forbidden = This page is for the server's moderators.
admin-saved = Done.
admin-reports = Reports
admin-accounts = Accounts
admin-sign-ups = Sign-ups
admin-domains = Domains
admin-audit = Audit log
admin-reports-open = Open
admin-reports-resolved = Resolved
admin-reports-none = No open reports.
admin-reports-none-resolved = No resolved reports.
admin-report-title = Report #{ $id }
admin-report-target = Reported account
admin-report-reporter = Reported by
admin-report-category = Category
admin-report-rules = Rules broken
admin-report-filed = Filed
admin-report-forwarded = Forwarded to its server
admin-report-assigned = Assigned to
admin-report-state = State
admin-report-open = Open
admin-report-resolved = Resolved
admin-report-resolved-by = Resolved by { $name }
admin-report-comment = Comment
admin-report-no-comment = No comment.
admin-report-actions = Actions
admin-report-assign = Assign to me
admin-report-unassign = Unassign
admin-report-resolve = Resolve
admin-report-reopen = Reopen
admin-report-note = Note (why, how it was handled)
admin-report-posts = Reported posts
admin-report-no-posts = The report names no posts.
admin-report-history = History
admin-note-too-long = The note is too long (at most 1000 characters).
admin-command-line = (command line)
admin-nobody = Nobody
admin-yes = Yes
admin-no = No
admin-audit-when = When
admin-audit-who = Who
admin-audit-what = What
admin-audit-target = On what
admin-audit-why = Why
admin-audit-empty = The audit log is empty.
# What a moderator did, as the audit log and the histories say it ($action: the
# action's name in the log; an unknown name is shown as it is).
admin-audit-action = { $action ->
    [approve] Approved the sign-up
    [reject] Rejected the sign-up
    [delete] Deleted the account's data
    [none] Warned
    [disable] Disabled sign-in
    [sensitive] Marked media sensitive
    [silence] Limited
    [suspend] Suspended
    [enable] Enabled sign-in
    [unsilence] Lifted the limit
    [unsuspend] Lifted the suspension
    [unsensitive] Stopped marking media sensitive
    [set_role] Changed the role
    [create_rule] Added a rule
    [destroy_rule] Removed a rule
    [assign_report] Took the report
    [unassign_report] Let go of the report
    [resolve_report] Resolved the report
    [reopen_report] Reopened the report
    [update_report] Changed the report
    [create_domain_block] Blocked a domain
    [update_domain_block] Changed a domain block
    [destroy_domain_block] Lifted a domain block
    [create_domain_allow] Allowed a domain
    [destroy_domain_allow] Removed an allowed domain
    [create_email_domain_block] Blocked an e-mail domain
    [destroy_email_domain_block] Unblocked an e-mail domain
    [create_ip_block] Blocked IP addresses
    [update_ip_block] Changed an IP block
    [destroy_ip_block] Lifted an IP block
    [create_canonical_email_block] Blocked an e-mail address
    [destroy_canonical_email_block] Unblocked an e-mail address
   *[other] { $action }
}

admin-nav-reports = Reports
admin-nav-accounts = Accounts
admin-nav-sign-ups = Sign-ups
admin-nav-domains = Domains
admin-nav-audit = Audit log
admin-accounts-search = Username starts with
admin-accounts-status = State
admin-accounts-origin = Where
admin-accounts-filter = Filter
admin-accounts-account = Account
admin-accounts-state = State
admin-accounts-joined = Joined
admin-accounts-empty = No account matches.
admin-accounts-more = More accounts
admin-status-any = Any
admin-status-active = Active
admin-status-pending = Waiting for approval
admin-status-disabled = Disabled
admin-status-silenced = Limited
admin-status-suspended = Suspended
admin-status-sensitized = Media sensitive
admin-origin-any = Anywhere
admin-origin-local = This server
admin-origin-remote = Other servers
admin-account-about = About the account
admin-account-name = Display name
admin-account-email = E-mail address
admin-account-role = Role
admin-account-reason = Why they signed up
admin-account-posts = Posts
admin-account-profile = Public profile
admin-account-action = Action
admin-account-warning = Warning shown to the user (optional)
admin-account-apply = Apply
admin-account-recent = Recent posts
admin-account-history = History
admin-account-no-history = No moderator has acted on this account.
admin-action-none = Warn only
admin-action-disable = Disable sign-in
admin-action-sensitive = Mark media sensitive
admin-action-silence = Limit
admin-action-suspend = Suspend
admin-lift-enable = Enable sign-in
admin-lift-unsilence = Lift the limit
admin-lift-unsuspend = Lift the suspension
admin-lift-unsensitive = Stop marking media sensitive
admin-sign-ups-approve = Approve
admin-sign-ups-reject = Reject
admin-sign-ups-empty = Nobody is waiting for approval.
admin-nav-rules = Rules
admin-domains-title = Blocked domains
admin-domains-domain = Domain
admin-domains-severity = Severity
admin-domains-silence = Limit (silence)
admin-domains-suspend = Suspend
admin-domains-noop = None
admin-domains-reject-media = Reject its media
admin-domains-reject-reports = Ignore its reports
admin-domains-reject-media-short = no media
admin-domains-reject-reports-short = no reports
admin-domains-obfuscate = Hide part of the name in the public list
admin-domains-public-comment = Public comment
admin-domains-private-comment = Private comment
admin-domains-purge = Purge
admin-domains-progress = { $purged } posts purged, { $left } left
admin-domains-actions = Actions
admin-domains-remove = Remove block
admin-domains-remove-label = Remove block on { $domain }
admin-domains-empty = No domain is blocked.
admin-domains-add = Block a domain
admin-domains-block = Block
admin-domains-save = Save
admin-rules-title = Rules
admin-rules-text = Rule
admin-rules-hint = Explanation
admin-rules-add = Add rule
admin-rules-remove = Remove
admin-rules-remove-label = Remove the rule { $rule }
admin-rules-empty = There are no rules yet.
