# What the pages say, in English. Every message here has its twin in es.ftl.

## Every page

site-name = Sign-in
language-switch = Language
error-summary-title = There is a problem
error-prefix = Error:
skip-to-content = Skip to the form
help-link = Help with signing in
continue = Continue

## The front door (`/`)

front-title = One sign-in for the services you use
front-intro = This service signs you in to the websites that rely on it, such as your tax portal: you type your username and password, then a separate PIN that only you know. One account works for all of them, and you manage it here.
front-sign-in = Sign in to your account
front-sign-up = Create an account
front-help = Help: a forgotten or locked PIN, a new device, a new phone
front-developers = For developers
front-developers-body = Relying parties find every endpoint and capability of this OpenID Connect provider in its
front-discovery = discovery document

## Sign in

login-title = Sign in
login-lead = to continue to
login-username = Username
login-password = Password
login-new-here = New here?
login-create-account = Create an account
login-wrong-password = That username or password is not correct.
login-account-disabled = This account is disabled. Please contact support.
login-throttled-seconds = Too many sign-in attempts. Wait { $seconds ->
        [one] 1 second
       *[other] { $seconds } seconds
    } and try again.
login-throttled-minutes = Too many sign-in attempts. Wait { $minutes ->
        [one] 1 minute
       *[other] { $minutes } minutes
    } and try again.

## PIN step

pin-title = Enter your PIN
pin-signed-in-as = Signed in as
pin-continuing-to = continuing to
pin-label = PIN
pin-forgot = Forgot PIN?
pin-wrong = That PIN is not correct. { $tries ->
        [one] 1 try left.
       *[other] { $tries } tries left.
    }
pin-tries-left = { $tries ->
        [one] You have 1 try left before your PIN locks.
       *[other] You have { $tries } tries left before your PIN locks.
    }
pin-numbers-only = Your PIN is numbers only.
pin-too-many = Too many wrong PINs were entered.
pin-wrong-now-locked = That PIN is not correct, and your PIN is now locked.
pin-not-reused = Choose a PIN you have not used before.

## Locked PIN

locked-title = Your PIN is locked
locked-why = To protect your account, your PIN is locked after { $max } wrong tries in a row. You can unlock it by proving who you are again.
locked-unlock = Unlock your PIN
locked-unlock-how = with a code we send you.

## Sign-up

signup-title = Create your account
signup-username = Username
signup-email = E-mail address
signup-phone = Mobile phone
signup-phone-optional = (optional, with country code)
signup-password = Password
signup-password-hint = At least { $min } characters. A few unrelated words work well.
signup-password-confirm = Password again
signup-username-taken = That username is taken. Choose another.
signup-expired-title = This sign-up has expired
signup-expired = Nothing was saved. Please start again at the sign-up page.
signed-up-title = Your account is ready
signed-up-body = You are signed in as { $username }. Go back to the site you came from and choose “Sign in”: you will not need to enter your password again for a while.

## Choosing a PIN

pin-create-title = Choose your PIN
pin-create-rules = Your PIN is a second secret you enter after your password. Choose { $min } to { $max } digits that are not easy to guess: no digits in a row (123456), no repeats (112233), no dates or years, and not part of your phone number.
pin-create-pin = PIN
pin-create-confirm = PIN again
pin-create-submit = Create account
pin-create-save = Save PIN and continue

## What people type, refused

field-username-length = Choose a username of 3 to 32 characters.
field-username-characters = A username may use letters, digits, dots, dashes and underscores, and starts with a letter or digit.
field-email = Enter an e-mail address like name@example.com.
field-phone = Enter the phone number with its country code, like +44 7700 900123.
password-too-short = Use at least { $min } characters for your password.
password-too-long = Use at most { $max } characters for your password.
password-mismatch = The two passwords are not the same.
password-common = That password is too common and easy to guess. Try a few unrelated words.
password-contains-username = Your password may not contain your username.
pin-rule-not-digits = Your PIN is numbers only.
pin-rule-length = Your PIN must be { $min } to { $max } digits long.
pin-rule-mismatch = The two PINs are not the same.
pin-rule-run = Digits in a row, like 123456 or 987654, are too easy to guess.
pin-rule-repeat = Repeated digits, like 111111 or 121212, are too easy to guess.
pin-rule-date = A date or a year is too easy to guess.
pin-rule-phone = Your PIN may not be part of your phone number.
pin-rule-common = That PIN is one of the most common. Choose a less obvious one.

## Recovering a PIN

recover-title = Recover your PIN
recover-intro = We will send you a code to prove it is you. Then you choose a new PIN.
recover-where = Where should we send the code?
recover-by-email = E-mail to { $to }
recover-by-sms = Text message to { $to }
recover-how = How will you prove it is you?
recover-by-saved-code = With one of my saved recovery codes
recover-saved-code-hint = Choose this, then type one of the codes you saved. Each works once.
recover-send = Send code
recover-no-contact = Your account has no confirmed e-mail address or phone number, so we cannot send you a code. Please contact support: they will confirm who you are and unlock your account.
recover-choose-channel = Choose where we should send your code.
recover-too-many-codes = We have sent you several codes in the last hour. Use the last one, or try again later.
code-not-sent = We could not send the code just now. Please try again in a few minutes.
code-title = Enter your code
code-sent-to = We sent a 6-digit code to { $to }. It works once, for 10 minutes.
code-sent = We sent a 6-digit code. It works once, for 10 minutes.
code-label = Code
code-resend = Send a new code
code-wrong = That code is not correct. { $tries ->
        [one] 1 try left.
       *[other] { $tries } tries left.
    }
code-or-answer-wrong = The code or an answer is not correct. { $tries ->
        [one] 1 try left.
       *[other] { $tries } tries left.
    }
code-to-email = your e-mail address
code-to-phone = your phone
code-or-answer-wrong-last = The code or an answer is not correct, and the code cannot be tried again. Send yourself a new code.
code-wrong-last = That code is not correct, and it cannot be tried again. Send yourself a new code.
code-expired = This code has expired or was tried too often. Send yourself a new code.
code-expired-ask = That code has expired or was tried too often. Ask for a new one.
codes-blocked-title = Codes are locked for this account
codes-blocked = Too many wrong codes were entered for this account, so no code is accepted for it any more. Please contact support: they will confirm who you are and unlock your account.
code-too-many-title = Too many codes
question-first_school = What was the name of your first school?
question-childhood_street = What street did you live on as a child?
question-first_employer = What was the name of your first employer?
question-parents_met = In what city did your parents meet?
question-first_pet = What was the name of your first pet?
question-unknown = Choose each question from the list.
question-twice = Choose two different questions.
question-answer-short = Give answers of at least 3 letters or digits.
question-answer = Your answer

## New device

device-title = Confirm it is you
device-body = You are signing in to { $client } on a browser we do not know yet. We sent a 6-digit code to { $to }. It works once, for 10 minutes.

## Consent

consent-title = Allow access?
consent-heading = Allow { $client }?
consent-would-like = { $client } would like to:
consent-withdraw-hint = You can withdraw this at any time on your account page.
client-logo = Logo of { $client }
client-privacy-policy = Privacy policy
client-terms = Terms of service
consent-allow = Allow
consent-deny = Do not allow
consent-choose-title = Choose allow or deny
consent-choose = Please choose one of the two buttons.
scope-openid = Know that it is you (an identifier for your account, nothing else)
scope-profile = See your name and username
scope-email = See your e-mail address
scope-phone = See your phone number
scope-address = See your postal address
scope-offline_access = Keep access while you are not using it, until you withdraw it
scope-other = Other access

## Signing out

logout-title = Sign out
logout-heading = Sign out?
logout-asks = { $client } asks to sign you out.
logout-everywhere = You will be signed out of every site you signed in to here.
logout-submit = Sign out
signed-out-title = You are signed out
signed-out-body = You can close this window, or go back to the site you were using.
logout-refused-title = We cannot sign you out from that link
logout-bad-id-token = The sign-out request carries an ID token we did not issue.
logout-two-sites = The sign-out request names two different sites.
logout-unknown-site = The site that sent you here is not registered with us.
logout-unknown-return = The address to return to after signing out is not registered for this site.
logout-malformed = The sign-out request is malformed.

## Account

account-title = Your account
account-signed-in-as = Signed in as
account-contact = Contact details
account-email = E-mail: { $email }
account-phone = Phone: { $phone }
account-no-phone = Phone: none
account-confirmed = confirmed
account-not-confirmed = not confirmed
account-have-code = I have a code to confirm a contact
account-contact-hint = Only confirmed contacts receive the codes that recover your PIN.
account-contact-legend = Confirm or change a contact
account-channel-email = E-mail
account-channel-sms = Phone
account-contact-value = New address or number
account-contact-value-hint = (leave empty to confirm the current one)
account-current-password = Current password
account-send-code = Send a code
account-password = Change password
account-new-password = New password
account-new-password-confirm = New password again
account-change-password = Change password
account-pin = Change PIN
account-current-pin = Current PIN
account-new-pin = New PIN
account-new-pin-confirm = New PIN again
account-change-pin = Change PIN
account-questions = Security questions
account-questions-hint = Optional. When set, recovering your PIN asks for these answers as well as the code we send you.
account-questions-set = Set:
account-questions-none = None set.
account-question = Question { $n }
account-answer = Answer { $n }
account-save-questions = Save questions
account-remove-questions = Remove questions
account-sessions = Where you are signed in
account-session-since = Signed in:
account-from = from { $ip }
account-this-browser = this browser
account-sign-out = Sign out
account-devices = Trusted devices
account-devices-hint = Other devices need a code we send you to sign in.
account-unknown-browser = Unknown browser
account-last-used = Last used:
account-forget = Forget
account-none-yet = None yet.
account-apps = Applications you allowed
account-withdraw = Withdraw
account-none = None.
account-activity = Recent sign-ins
account-removed-app = A removed application
account-security = Security
account-contact-which = Which contact
account-questions-on = Set
account-devices-and-sessions = Devices and sessions
account-device-name = { $browser } on { $os }
account-device-browser = { $browser }
account-activity-more = { $n ->
        [one] 1 earlier sign-in
       *[other] { $n } earlier sign-ins
    }
account-allowed = Allowed:
account-app-sees = What it may see
account-time-just-now = just now
account-time-minutes-ago = { $n ->
        [one] 1 minute ago
       *[other] { $n } minutes ago
    }
account-time-hours-ago = { $n ->
        [one] 1 hour ago
       *[other] { $n } hours ago
    }
account-time-today = today at { $time }
account-time-yesterday = yesterday at { $time }
account-time-date = { $day } { $month } { $year } at { $time }
account-month-1 = January
account-month-2 = February
account-month-3 = March
account-month-4 = April
account-month-5 = May
account-month-6 = June
account-month-7 = July
account-month-8 = August
account-month-9 = September
account-month-10 = October
account-month-11 = November
account-month-12 = December
outcome-signed-in = Signed in
outcome-password-wrong = Wrong password
outcome-throttled = Refused: too many tries
outcome-pin-wrong = Wrong PIN
outcome-pin-locked = PIN locked
outcome-other = Other
account-password-changed = Your password is changed. Your other sessions were signed out, and the sites you use will ask you to sign in again.
account-password-wrong = Your current password is not correct.
account-pin-wrong-locked = Your current PIN is not correct, and your PIN is now locked. Sign out and use “Forgot PIN?” to unlock it.
account-pin-wrong = Your current PIN is not correct. { $tries ->
        [one] 1 try left.
       *[other] { $tries } tries left.
    }
account-no-pin = Your account has no PIN yet.
account-pin-same = Choose a PIN different from your current one.
account-pin-changed = Your PIN is changed.
account-enter-phone = Enter a phone number.
account-choose-channel = Choose e-mail or phone.
account-email-confirmed = Your e-mail address is confirmed.
account-phone-confirmed = Your phone number is confirmed.
account-session-gone = That session has already ended.
account-session-ended = That session is signed out.
account-device-unknown = That device is not on your list.
account-device-forgotten = That device is forgotten: signing in on it will need a code again.
account-questions-removed = Your security questions are removed.
account-questions-saved = Your security questions are saved. PIN recovery will ask for them.
account-app-unknown = That application is not on your list.
account-app-withdrawn = Access withdrawn. The application will have to ask you again.
account-code-confirm = Confirm
account-back = Back to your account

## Help

help-title = Help with signing in
help-forgot-pin = I forgot my PIN
help-forgot-pin-body = Your PIN is the number you chose when you created your account. If you cannot remember it, choose “Forgot PIN?” when you sign in: we send a code to your confirmed e-mail address or phone, and you choose a new PIN. If you cannot receive a code, contact support: they will confirm who you are and unlock your account.
help-locked-pin = My PIN is locked
help-locked-pin-body = After too many wrong PINs in a row your PIN locks to protect your account. Choose “Unlock your PIN” to get a code and choose a new PIN, or contact support.
help-new-device = I am asked for a code on a new device
help-new-device-body = The first time you sign in on a browser we do not know, we send a code to your confirmed e-mail address or phone, so that your password alone is not enough for someone else.
help-changed-phone = I changed my phone number
help-changed-phone-body = Sign in and open your account page to change and confirm your number. If you can no longer receive codes at all, contact support.
help-password-in-pin = The PIN field refuses what I typed
help-password-in-pin-body = Your PIN is numbers only. If you typed your password there, it was not counted as a wrong try.

## Errors

error-title = Something went wrong
error-reference = Reference:
error-expired-title = This sign-in has expired
error-expired = Go back to the site you came from and choose “Sign in” again.
error-form-title = We could not accept that form
error-csrf = This form was too old or did not come from this site. Go back, reload the page and try again.
error-form = This form could not be read. Go back, reload the page and try again.
error-too-many-title = Too many tries
error-too-many-seconds = There were too many tries from your network. Please wait { $seconds ->
        [one] 1 second
       *[other] { $seconds } seconds
    } and try again.
error-too-many-minutes = There were too many tries from your network. Please wait { $minutes ->
        [one] 1 minute
       *[other] { $minutes } minutes
    } and try again.
error-not-sent-title = We could not send your code
error-busy-title = We are very busy
error-busy = Too many people are signing in right now. Please wait a minute and try again.
error-paused-title = Sign-in is paused
error-paused = We cannot reach a service that signing in needs, so we stopped here. Please try again in a minute.
error-internal = Something went wrong on our side. Please try again; if it keeps happening, contact support with the reference below.
error-not-found-title = Page not found
error-not-found = There is no page at this address. Check the address, or go back to the site you came from.
authorize-refused-title = We cannot sign you in to that site
authorize-request-used = The sign-in request has expired or was already used. Go back to the site and try again.
authorize-not-utf8 = The request is not valid UTF-8.
authorize-two-clients = The request names more than one client.
authorize-no-client = The request does not say which site it comes from (no client_id).
authorize-unknown-client = The site that sent you here is not registered with us (unknown client_id).
authorize-two-redirects = The request names more than one redirect_uri.
authorize-no-redirect = The request does not say where to return to (no redirect_uri).
authorize-unknown-redirect = The address to return to (redirect_uri) is not registered for this site, so we will not send you there.
authorize-bad-request-object = The site sent a request (a request object) that could not be verified, and no registered address to return to, so we will not send you back.

## E-mail and text messages

mail-hello = Hello { $username },
mail-not-you = If this was not you, change your password now and contact support.
mail-pin-locked-subject = Your PIN is locked
mail-pin-locked = Your PIN was locked after too many wrong tries. To unlock it, choose “Forgot PIN?” the next time you sign in.
mail-pin-changed-subject = Your PIN was changed
mail-pin-changed = The PIN of your account was just changed.
mail-pin-unlocked-subject = Your PIN was unlocked by support
mail-pin-unlocked = Support unlocked the PIN of your account. Sign in with your password and choose a new PIN. Every session of yours was ended.
mail-sessions-ended-subject = You were signed out everywhere
mail-sessions-ended = Support ended every session of your account. Sign in again where you need to.
mail-role-granted-subject = You were given a role
mail-role-granted = Your account was given the role “{ $role }”.
mail-role-revoked-subject = A role was taken away
mail-role-revoked = The role “{ $role }” was taken away from your account.
mail-password-changed-subject = Your password was changed
mail-password-changed = The password of your account was just changed.
mail-contact-changed-subject = Your contact details were changed
mail-contact-changed = The e-mail address or phone number of your account was just changed.
mail-profile-changed-subject = Your name or address was changed
mail-profile-changed = The name or postal address on your account was just changed by our support staff. If you did not ask for it, contact us.
mail-recovered-subject = Your account was recovered
mail-recovered = You proved who you are with a code and chose a new PIN.
mail-new-device-subject = New sign-in to your account
mail-new-device = Your account was just signed in to on a new device: { $browser }, from { $place }.
mail-unknown-address = an unknown address
mail-code-subject = Your code to { $purpose }
mail-code = Your code to { $purpose } is { $code }

    It works once, for 10 minutes. Nobody from us will ever ask you for it.
sms-code = { $code } is your code to { $purpose }. Do not share it.
purpose-recover-pin = recover your PIN
purpose-confirm-email = confirm your e-mail address
purpose-confirm-phone = confirm your phone number
purpose-new-device = sign in on a new device

# A forgotten password
login-forgot-password = Forgot password?
reset-title = Reset your password
reset-intro = Type your username. We send a code to the e-mail address or phone confirmed on your account; then you enter your PIN and choose a new password.
reset-username-missing = Type your username.
reset-back-to-sign-in = Back to sign in
reset-choose-intro = We send the code only to a contact you have confirmed on your account.
reset-by-email = E-mail, to the address on my account
reset-by-sms = Text message, to the phone on my account
reset-other-username = Use another username
reset-code-sent-email = If that account has a confirmed e-mail address, we sent a 6-digit code to it. It works once, for 10 minutes.
reset-code-sent-sms = If that account has a confirmed phone, we sent a 6-digit code to it by text message. It works once, for 10 minutes.
reset-pin-why = Your PIN confirms that it is you before you choose a new password.
reset-pin-forgot = I forgot my PIN as well
reset-pin-locked = A locked PIN cannot confirm a password reset. If you remember your password, sign in and choose “Unlock your PIN”. If you have forgotten both, contact support: they will confirm who you are.
reset-new-title = Choose a new password
reset-new-intro = Once it is saved, every other session of yours is signed out, and we tell you by e-mail.
reset-new-password = New password
reset-new-save = Save password and continue
purpose-reset-password = reset your password
mail-password-reset-subject = Your password was reset
mail-password-reset = You proved who you are with a code and your PIN, and chose a new password. Your other sessions were signed out.
help-forgot-password = I forgot my password
help-forgot-password-body = Choose “Forgot password?” on the sign-in page and type your username. We send a code to your confirmed e-mail address or phone; you enter it, then your PIN, and choose a new password.
help-forgot-both = I forgot my password and my PIN
help-forgot-both-body = Each one is recovered with the other: your PIN with your password, your password with your PIN. If you have forgotten both, or your PIN is locked and you have forgotten your password, contact support: they will confirm who you are and unlock your account.
pin-step-up-why = { $client } asks you to confirm it is you again before you go on. You are still signed in: only your PIN is needed.
signed-up-account = Go to your account

# The operator's brand and support contact
support-contact = Support:
help-support = Contact support
help-support-body = Support can confirm who you are and unlock your account when recovery is not possible. They will never ask for your password or PIN.
help-support-email = E-mail:
help-support-phone = Phone:
help-support-hours = Hours:
help-support-none = Contact the organisation that runs this service. They will never ask for your password or PIN.
back-to-start = Back to the start page
signup-have-account = Already have an account?
signup-sign-in = Sign in
mail-support = Questions? Contact support: { $contact }
login-cancel = Cancel and go back to { $client }
login-cancel-start = Cancel

## Second factors at sign-in
factor-title = One more step
factor-why = { $client } asks for a second factor for this: something you have, besides your password and PIN.
device-use-passkey = Use your passkey instead
device-use-app = Use your authenticator app instead
factor-app-label = Code from your authenticator app
factor-app-hint = The 6 digits your app shows now.
factor-saved-summary = Use a saved recovery code
factor-saved-label = Saved recovery code
factor-saved-hint = One of the codes you saved when you made them, such as 7K3M-9QXD-4V2A-8HTC. Each works once.
factor-text-me = Text a code to { $to }
factor-text-again = Text a new code
factor-texted-label = Code from the text message
factor-texted-hint = We texted a 6-digit code to { $to }. It works once, for 10 minutes.
account-passkey-why = A passkey is a key kept by your phone, computer or security key and unlocked with your fingerprint, face or screen lock. It works only on this site, so a look-alike site cannot use it.
account-passkey-unavailable = Passkeys are not available on this site.
account-passkey-added = Your passkey was added.
passkey-use = Use your passkey
passkey-add = Add a passkey
passkey-name-label = A name for it (optional)
passkey-failed = The passkey did not answer. Try again, or use another way below.
passkey-needs-script = Passkeys need JavaScript, which is off in this browser.
passkey-refused = That passkey could not be checked. Try again.
factor-add-passkey-why = This needs a passkey: a key kept by your phone, computer or security key, unlocked with your fingerprint, face or screen lock. Add one now.
factor-none-yet = You have no second factor yet. Add an authenticator app now: it takes a minute.
factor-add-app = Add an authenticator app
factor-passkey-needed = This needs a passkey, which you have not added yet.
factor-decline = I can't use any of these
factor-decline-essential = I can't use any of these (go back)
factor-code-missing = Enter the code.
factor-app-code-wrong = That code is not right. Check the time on your phone and enter the code your app shows now.
factor-app-code-used = That code was already used. Wait for your app to show a new one.
factor-saved-code-wrong = That saved code is not right, or was already used.
factor-kind-app = Authenticator app
factor-kind-passkey = Passkey
add-app-title = Add an authenticator app
add-app-install = Install an authenticator app on your phone, if you have none: any app that shows 6-digit codes works.
add-app-qr-label = A code to scan with your authenticator app
add-app-scan = In the app, add an account and scan this code.
add-app-type = Cannot scan? Type this key instead:
add-app-uri = Show the setup link
add-app-code-label = The 6-digit code the app now shows
add-app-name-label = A name for it (optional)
add-app-name-hint = So that you can tell your apps apart, such as "Work phone".
add-app-submit = Add the app

## Second factors in messages
mail-factor-added-subject = A second factor was added to your account
mail-factor-added = A second factor was added to your account: { $kind } "{ $name }", from { $browser }, { $place }.
mail-factor-removed-subject = A second factor was removed from your account
mail-factor-removed = A second factor was removed from your account: { $kind } "{ $name }", from { $browser }, { $place }.
mail-saved-codes-subject = New saved recovery codes
mail-saved-codes = New saved recovery codes were made for your account, from { $browser }, { $place }. Your earlier codes no longer work.
mail-saved-code-used-subject = A saved recovery code was used
mail-saved-code-used = One of your saved recovery codes was used to sign in, from { $browser }, { $place }. { $left ->
    [0] You have no saved codes left: make new ones on your account page.
    [one] You have 1 saved code left.
   *[other] You have { $left } saved codes left.
}
account-factors = Two-step sign-in
account-factors-on = On
account-factors-off = Off
account-factors-hint = Something you have, besides your password and PIN: sites that need more assurance ask for it when you sign in.
account-factor-added = Added:
account-factor-never-used = not used yet
account-factors-none = No authenticator app yet.
account-saved-codes = Saved recovery codes
account-saved-codes-left = { $n ->
        [one] 1 code left
       *[other] { $n } codes left
    }
account-saved-codes-made = made:
account-saved-codes-none = None made.
account-saved-codes-hint = Saved codes sign you in when you cannot use your app: each works once.
account-saved-codes-replace = Making new codes stops your current ones from working.
account-saved-codes-new = Make new saved codes
account-saved-codes-make = Make saved codes
account-factors-step-up-aal2 = To add another one or make new saved codes, sign in again with a second factor you have.
account-factors-step-up-device = To add one, first sign in again on this device and enter the code we send you.
account-factors-step-up = Sign in again
account-factors-step-up-needed = For that, sign in again first (see “Two-step sign-in”).
account-factor-which = Which one
account-factor-new-name = New name
account-factor-rename = Rename
account-factor-remove-hint = Removing a second factor needs your PIN. We will tell you by e-mail.
account-factor-remove = Remove
account-add-app-expired = That setup took too long. Scan this new code, or type the new key, then enter the code your app shows.
account-app-added = Your authenticator app is added.
account-factor-renamed = The new name is saved.
account-factor-removed = That second factor is removed. We sent you an e-mail about it.
account-factor-unknown = That second factor is not on your list.
saved-codes-title = Your saved recovery codes
saved-codes-keep = Print these codes or write them down, and keep them somewhere safe. Each one signs you in once when you cannot use your authenticator app.
saved-codes-once = This is the only time they are shown. Earlier saved codes, if you had any, no longer work.
account-questions-off = Security questions are not used on this site.

account-profile = Name and address
account-profile-hint = Apps you allow to see your profile or address read these. Leave a field empty to remove it.
account-profile-name = Full name
account-profile-given-name = Given name
account-profile-family-name = Family name
account-profile-address = Postal address
account-profile-street = Street address
account-profile-locality = City or town
account-profile-region = State, province or region
account-profile-postal-code = Postal code
account-profile-country = Country
account-profile-save = Save name and address
account-profile-saved = Your name and address are saved.
account-profile-too-long = This is too long: at most 200 characters.
account-profile-bad-characters = This has characters that cannot be shown (control characters).
account-optional = (optional)

# The page that carries the sign-in's answer to the application (response_mode=form_post).
form-post-title = Returning to the application
form-post-lead = You are being sent back to the application. If nothing happens, press Continue.

# The consoles (/admin): support staff and administrators.
console-title = Support console
console-people = People
console-search-label = Find a person
console-search-hint = Part of a username, or a whole e-mail address or phone number.
console-search = Search
console-search-too-long = Type at most 100 characters.
console-people-found = People found
console-email = E-mail address
console-phone = Phone number
console-pin = PIN
console-disabled = disabled
console-next-page = More people
console-no-one-found = No one matches that.
console-pin-not-set = Not set: a new PIN is chosen at the next sign-in
console-pin-locked = Locked
console-pin-tries-left = { $tries } tries left
console-no-person = There is no such person.
console-back = Back to the search
console-created = Account created
console-roles = Roles
console-status = Status
console-confirmed = confirmed
console-unconfirmed = not confirmed
console-saved-codes = Saved recovery codes left
console-unlock = Unlock the PIN
console-unlock-explained = Only after you confirmed who the person is. Their PIN is cleared: at the next sign-in they give their password and choose a new PIN. Every session of theirs ends, and they are told by e-mail.
console-reason = Reason (kept in the audit log)
console-reason-needed = Give a reason: it goes into the audit log.
console-reason-too-long = Keep the reason under 500 characters.
console-factors = Second factors
console-added = added
console-remove-factor = Remove this factor
console-no-factors = No second factor.
console-no-factor = The person has no such factor.
console-sessions = Sessions
console-end-sessions = End every session
console-no-sessions = No session.
console-devices = Trusted browsers
console-no-devices = No trusted browser.
console-events = Recent security events
console-no-events = No event yet.
console-by = By
console-done-unlocked = The PIN is unlocked. The person chooses a new one at their next sign-in, and was told.
console-done-sessions = Every session of the person ended, and they were told.
console-done-factor = The factor is removed, and the person was told.
console-profile-change = Change the name or address
console-profile-explained = What relying parties read in the standard claims. Leave a field empty to remove it. The person is told by e-mail.
console-done-profile = The name and address are saved, and the person was told.
console-resend-confirmation = Send a new confirmation code
console-resend-confirmation-explained = For a contact the person has not confirmed yet: a new code goes to it, and they enter it on their account page ("I have a code to confirm a contact") while signed in.
console-resend-which = Which contact
console-nothing-to-confirm = That contact is confirmed already, or the person has none.
console-done-confirmation = A new code is on its way; the person enters it on their account page.
console-forbidden = This page is for people with a support or administrator role.
console-step-up-title = Sign in again to continue
console-step-up-level = The consoles need a sign-in with a second factor (an authenticator app, a passkey or a saved recovery code).
console-step-up-fresh = Changes through a console need a sign-in within the last 15 minutes.
console-step-up = Sign in again
console-step-up-no-factor = No second factor yet? Add one on your account page:
console-account = your account
error-no-access-title = Not for you
account-roles = Roles:
account-console = Open the support console
console-areas = Console areas
console-admins-only = This page is for people with the administrator role.
console-keys = Signing keys
console-key = Key
console-key-signs-from = Signs from
console-keys-rotate = Rotate the keys
console-keys-rotate-explained = A new key for each algorithm is published now and signs once relying parties have had time to fetch it; tokens the current keys signed keep verifying.
console-keys-retire = Retire a key now
console-keys-retire-explained = The key stops signing at once and its published next key takes over; what it signed keeps verifying until it expires.
console-keys-revoke = Revoke a key
console-keys-revoke-explained = Only for a key that leaked: it is removed at once, and every token it signed stops verifying. Type the key's id again to confirm.
console-keys-confirm-label = The key's id, typed again
console-keys-confirm = Type the id of the key you chose, exactly.
console-keys-refused = The keys did not change: { $why }
console-keys-rotated = New keys are published; they sign once relying parties have had time to fetch them.
console-keys-retired = The key is retired; its next key signs now.
console-keys-revoked = The key is revoked; what it signed no longer verifies.
console-audit = Audit log
console-audit-person = Person (username)
console-audit-person-link = the person
console-audit-client = Client
console-audit-kind = Kind of event
console-audit-any = Any
console-audit-from = From (UTC)
console-audit-until = Until (UTC)
console-audit-filter = Show
console-audit-verify = Check the log's chain
console-audit-newest = Newest events
console-audit-no-person = There is no one with that username.
console-audit-bad-kind = Choose a kind from the list.
console-audit-bad-date = Give a date as YYYY-MM-DD.
console-audit-intact = The log is intact: { $rows } linked rows checked. The newest is row { $last }, link { $link }; note them elsewhere to check later that no row was removed.
console-search-too-short = Type at least 3 characters.
console-reason-one-line = Keep the reason on one line.
console-not-yourself = You cannot act on your own account here: use your account page.
console-staff-for-admins = Only an administrator acts on a person who holds a role.
console-clients = Clients
console-clients-none-yet = No client yet.
console-clients-new = A new client
console-clients-name = Name, as people see it when they sign in
console-clients-redirect-uris = Redirect URIs
console-clients-logout-uris = Where people go after logging out
console-clients-one-a-line = One exact URI a line.
console-clients-create = Register the client
console-clients-refused = The client was not changed: { $why }
console-clients-created = Client registered
console-clients-issuer = Issuer
console-clients-id = Client id
console-clients-secret = Client secret
console-clients-secret-once = This is the only time the secret is shown: copy it now. Only its digest is kept.
console-clients-open = Open the client
console-clients-back = Back to the clients
console-clients-method = Authentication
console-clients-uris = Redirect and logout URIs
console-clients-save-uris = Save the URIs
console-clients-uris-changed = The URIs are saved.
console-clients-rotate = Make a new secret
console-clients-rotate-explained = The current secret stops working at once: give the new one to the client's operators first thing.
console-clients-secret-rotated = A new secret is made; the old one no longer works.
console-clients-no-secret = This client has no secret to replace.
console-clients-disable = Disable the client
console-clients-disable-explained = It can no longer sign anyone in or get tokens, and everything it was granted is revoked.
console-clients-disabled = The client is disabled.
console-clients-none = There is no such client.
console-developer-title = Your clients
console-developers-only = This page is for people with the developer role.
console-reason-optional = Note for the audit log (optional)
console-clients-backchannel = Back-channel logout URI (optional)
console-clients-method-client_secret_basic = A secret, in the Authorization header (client_secret_basic)
console-clients-method-client_secret_post = A secret, in the form (client_secret_post)
console-clients-method-private_key_jwt = A JWT signed with its key (private_key_jwt)
console-clients-method-none = None: a public client with PKCE (a phone or browser app)
console-clients-method-choose = Choose how the client proves who it is.
console-clients-jwks-uri = Its public keys' address (jwks_uri)
console-clients-jwks = Or its public keys (a JWK Set)
console-clients-keys-hint = Only for a client that signs with its key (private_key_jwt): one of the two.
console-clients-delete = Delete the client
console-clients-delete-explained = It is gone for good: it can no longer sign anyone in, and everything it was granted is revoked.
console-clients-snippets = Ready configuration
console-clients-snippet-rust = Rust, with the openidconnect crate
console-clients-snippet-js = JavaScript, with openid-client
console-clients-more = More options
console-clients-kind = What the client may do
console-clients-option-third_party = A third party: people are asked to consent before it gets their data
console-clients-option-resource_server = A resource server: it may introspect tokens issued to other clients
console-clients-option-admin_api = It may use the admin API
console-clients-option-fapi2 = Under the FAPI 2.0 Security Profile (https redirect URIs; private_key_jwt or mutual TLS)
console-clients-option-dpop_bound = Every access token bound to a DPoP key
console-clients-id-token-alg = How its ID tokens are signed
console-clients-alg-invalid = Choose ES256, RS256 or EdDSA.
console-clients-subject-type = The identifier it gets for each person
console-clients-subject-public = The same for every client (public)
console-clients-subject-pairwise = Its own for this client's sector (pairwise)
console-clients-subject-invalid = Choose public or pairwise.
console-clients-sector-uri = Sector identifier URI (pairwise, optional)
console-clients-request-uris = Where it keeps request objects (request_uri), one a line
console-clients-tls-subject = Its certificate's subject, for tls_client_auth (for example CN=portal,O=Example,C=GB)
console-clients-links = Links shown to people at sign-in
console-clients-link-logo_uri = Logo
console-clients-link-client_uri = Home page
console-clients-link-policy_uri = Privacy policy
console-clients-link-tos_uri = Terms of service
console-clients-method-tls_client_auth = A TLS client certificate from a trusted authority (tls_client_auth)
console-clients-method-self_signed_tls_client_auth = A self-signed TLS client certificate among its keys (self_signed_tls_client_auth)
console-registration = Registration tokens
console-registration-explained = A registration token lets a developer register clients at /register (dynamic registration, RFC 7591) without an account here. Give it only to the people who should register clients: it is shown once, and only its digest is kept.
console-registration-uses = Registrations it serves
console-registration-uses-invalid = Give a whole number of registrations, from 1 to 100000.
console-registration-expires = Valid for
console-registration-expires-invalid = Choose how long the token stays valid.
console-registration-for-24h = 24 hours
console-registration-for-1h = 1 hour
console-registration-for-7d = 7 days
console-registration-for-30d = 30 days
console-registration-make = Make a token
console-registration-made = Copy this token now: it is not shown again. It serves { $uses } registrations, until
account-developer = Open the developer console
console-disable = Disable the account
console-disable-explained = The person can no longer sign in: every session ends, every grant to an application is revoked and trusted browsers are forgotten, until an administrator enables the account again.
console-enable = Enable the account
console-enable-explained = The person can sign in again.
console-done-disabled = The account is disabled.
console-done-enabled = The account is enabled again.
