# Lo que dicen las páginas, en español. Cada mensaje tiene su gemelo en en.ftl.

## Todas las páginas

site-name = Inicio de sesión
language-switch = Idioma
error-summary-title = Hay un problema
error-prefix = Error:
skip-to-content = Ir al formulario
help-link = Ayuda para iniciar sesión
continue = Continuar

## La página de inicio (`/`)

front-title = Un solo inicio de sesión para los servicios que usa
front-intro = Este servicio le permite iniciar sesión en los sitios web que confían en él, como el portal de impuestos: escribe su nombre de usuario y su contraseña y, después, un PIN aparte que solo usted conoce. Una sola cuenta sirve para todos ellos, y aquí la gestiona.
front-sign-in = Iniciar sesión en su cuenta
front-sign-up = Crear una cuenta
front-help = Ayuda: un PIN olvidado o bloqueado, un dispositivo nuevo, un teléfono nuevo
front-developers = Para desarrolladores
front-developers-body = Las aplicaciones cliente encuentran todos los puntos de acceso y capacidades de este proveedor de OpenID Connect en su
front-discovery = documento de descubrimiento

## Iniciar sesión

login-title = Iniciar sesión
login-lead = para continuar en
login-username = Nombre de usuario
login-password = Contraseña
login-new-here = ¿Es nuevo aquí?
login-create-account = Crear una cuenta
login-wrong-password = Ese nombre de usuario o esa contraseña no son correctos.
login-account-disabled = Esta cuenta está desactivada. Póngase en contacto con el servicio de asistencia.
login-throttled-seconds = Demasiados intentos de inicio de sesión. Espere { $seconds ->
        [one] 1 segundo
       *[other] { $seconds } segundos
    } y vuelva a intentarlo.
login-throttled-minutes = Demasiados intentos de inicio de sesión. Espere { $minutes ->
        [one] 1 minuto
       *[other] { $minutes } minutos
    } y vuelva a intentarlo.

## PIN

pin-title = Introduzca su PIN
pin-signed-in-as = Sesión iniciada como
pin-continuing-to = para continuar en
pin-label = PIN
pin-forgot = ¿Ha olvidado su PIN?
pin-wrong = Ese PIN no es correcto. { $tries ->
        [one] Queda 1 intento.
       *[other] Quedan { $tries } intentos.
    }
pin-tries-left = { $tries ->
        [one] Le queda 1 intento antes de que su PIN se bloquee.
       *[other] Le quedan { $tries } intentos antes de que su PIN se bloquee.
    }
pin-numbers-only = Su PIN solo lleva números.
pin-too-many = Se introdujeron demasiados PIN incorrectos.
pin-wrong-now-locked = Ese PIN no es correcto y su PIN ha quedado bloqueado.
pin-not-reused = Elija un PIN que no haya usado antes.

## PIN bloqueado

locked-title = Su PIN está bloqueado
locked-why = Para proteger su cuenta, su PIN se bloquea tras { $max } intentos incorrectos seguidos. Puede desbloquearlo demostrando de nuevo quién es.
locked-unlock = Desbloquee su PIN
locked-unlock-how = con un código que le enviamos.

## Registro

signup-title = Cree su cuenta
signup-username = Nombre de usuario
signup-email = Correo electrónico
signup-phone = Teléfono móvil
signup-phone-optional = (opcional, con el prefijo del país)
signup-password = Contraseña
signup-password-hint = Al menos { $min } caracteres. Unas cuantas palabras sin relación entre sí funcionan bien.
signup-password-confirm = Repita la contraseña
signup-username-taken = Ese nombre de usuario ya está en uso. Elija otro.
signup-expired-title = Este registro ha caducado
signup-expired = No se guardó nada. Vuelva a empezar en la página de registro.
signed-up-title = Su cuenta está lista
signed-up-body = Ha iniciado sesión como { $username }. Vuelva al sitio del que venía y elija «Iniciar sesión»: durante un tiempo no tendrá que volver a escribir su contraseña.

## Elegir un PIN

pin-create-title = Elija su PIN
pin-create-rules = Su PIN es un segundo secreto que se introduce después de la contraseña. Elija de { $min } a { $max } cifras que no sean fáciles de adivinar: sin cifras seguidas (123456), sin repeticiones (112233), sin fechas ni años, y que no formen parte de su número de teléfono.
pin-create-pin = PIN
pin-create-confirm = Repita el PIN
pin-create-submit = Crear la cuenta
pin-create-save = Guardar el PIN y continuar

## Lo que se escribe, rechazado

field-username-length = Elija un nombre de usuario de 3 a 32 caracteres.
field-username-characters = Un nombre de usuario puede llevar letras, cifras, puntos, guiones y guiones bajos, y empieza por una letra o una cifra.
field-email = Escriba un correo electrónico como nombre@ejemplo.com.
field-phone = Escriba el número de teléfono con el prefijo del país, como +34 612 345 678.
password-too-short = Use al menos { $min } caracteres en su contraseña.
password-too-long = Use como máximo { $max } caracteres en su contraseña.
password-mismatch = Las dos contraseñas no coinciden.
password-common = Esa contraseña es demasiado común y fácil de adivinar. Pruebe con unas cuantas palabras sin relación entre sí.
password-contains-username = Su contraseña no puede contener su nombre de usuario.
pin-rule-not-digits = Su PIN solo lleva números.
pin-rule-length = Su PIN debe tener de { $min } a { $max } cifras.
pin-rule-mismatch = Los dos PIN no coinciden.
pin-rule-run = Las cifras seguidas, como 123456 o 987654, son demasiado fáciles de adivinar.
pin-rule-repeat = Las cifras repetidas, como 111111 o 121212, son demasiado fáciles de adivinar.
pin-rule-date = Una fecha o un año es demasiado fácil de adivinar.
pin-rule-phone = Su PIN no puede formar parte de su número de teléfono.
pin-rule-common = Ese PIN es de los más comunes. Elija uno menos evidente.

## Recuperar el PIN

recover-title = Recupere su PIN
recover-intro = Le enviaremos un código para comprobar que es usted. Después elegirá un PIN nuevo.
recover-where = ¿Dónde le enviamos el código?
recover-by-email = Correo electrónico a { $to }
recover-by-sms = Mensaje de texto a { $to }
recover-how = ¿Cómo demostrará que es usted?
recover-by-saved-code = Con uno de mis códigos de recuperación guardados
recover-saved-code-hint = Elija esto y escriba uno de los códigos que guardó. Cada uno sirve una vez.
recover-send = Enviar el código
recover-no-contact = Su cuenta no tiene ningún correo electrónico ni teléfono confirmado, así que no podemos enviarle un código. Póngase en contacto con el servicio de asistencia: comprobarán quién es y desbloquearán su cuenta.
recover-choose-channel = Elija dónde le enviamos el código.
recover-too-many-codes = Le hemos enviado varios códigos en la última hora. Use el último o vuelva a intentarlo más tarde.
code-not-sent = No hemos podido enviar el código ahora. Vuelva a intentarlo dentro de unos minutos.
code-title = Introduzca su código
code-sent-to = Hemos enviado un código de 6 cifras a { $to }. Sirve una vez, durante 10 minutos.
code-sent = Hemos enviado un código de 6 cifras. Sirve una vez, durante 10 minutos.
code-label = Código
code-resend = Enviar un código nuevo
code-wrong = Ese código no es correcto. { $tries ->
        [one] Queda 1 intento.
       *[other] Quedan { $tries } intentos.
    }
code-or-answer-wrong = El código o una respuesta no son correctos. { $tries ->
        [one] Queda 1 intento.
       *[other] Quedan { $tries } intentos.
    }
code-to-email = su correo electrónico
code-to-phone = su teléfono
code-or-answer-wrong-last = El código o una respuesta no son correctos y el código ya no se puede volver a probar. Pida un código nuevo.
code-wrong-last = Ese código no es correcto y ya no se puede volver a probar. Pida un código nuevo.
code-expired = Este código ha caducado o se ha probado demasiadas veces. Pida un código nuevo.
code-expired-ask = Ese código ha caducado o se ha probado demasiadas veces. Pida uno nuevo.
codes-blocked-title = Los códigos de esta cuenta están bloqueados
codes-blocked = Se han introducido demasiados códigos incorrectos para esta cuenta, así que ya no se acepta ninguno. Póngase en contacto con soporte: confirmarán quién es usted y desbloquearán su cuenta.
code-too-many-title = Demasiados códigos
question-first_school = ¿Cómo se llamaba su primer colegio?
question-childhood_street = ¿En qué calle vivía de niño?
question-first_employer = ¿Cómo se llamaba su primera empresa?
question-parents_met = ¿En qué ciudad se conocieron sus padres?
question-first_pet = ¿Cómo se llamaba su primera mascota?
question-unknown = Elija cada pregunta de la lista.
question-twice = Elija dos preguntas distintas.
question-answer-short = Dé respuestas de al menos 3 letras o cifras.
question-answer = Su respuesta

## Dispositivo nuevo

device-title = Confirme que es usted
device-body = Está iniciando sesión en { $client } desde un navegador que aún no conocemos. Hemos enviado un código de 6 cifras a { $to }. Sirve una vez, durante 10 minutos.

## Consentimiento

consent-title = ¿Permitir el acceso?
consent-heading = ¿Permitir a { $client }?
consent-would-like = { $client } quiere:
consent-withdraw-hint = Puede retirar este permiso cuando quiera en la página de su cuenta.
client-logo = Logotipo de { $client }
client-privacy-policy = Política de privacidad
client-terms = Condiciones del servicio
consent-allow = Permitir
consent-deny = No permitir
consent-choose-title = Elija permitir o no permitir
consent-choose = Pulse uno de los dos botones.
scope-openid = Saber que es usted (un identificador de su cuenta, nada más)
scope-profile = Ver su nombre y su nombre de usuario
scope-email = Ver su correo electrónico
scope-phone = Ver su número de teléfono
scope-address = Ver su dirección postal
scope-offline_access = Mantener el acceso aunque no lo esté usando, hasta que lo retire
scope-other = Otro acceso

## Cerrar sesión

logout-title = Cerrar sesión
logout-heading = ¿Cerrar la sesión?
logout-asks = { $client } pide cerrar su sesión.
logout-everywhere = Se cerrará su sesión en todos los sitios en los que la inició aquí.
logout-submit = Cerrar sesión
signed-out-title = Ha cerrado la sesión
signed-out-body = Puede cerrar esta ventana o volver al sitio que estaba usando.
logout-refused-title = No podemos cerrar su sesión desde ese enlace
logout-bad-id-token = La solicitud de cierre de sesión lleva un token de identidad que no emitimos nosotros.
logout-two-sites = La solicitud de cierre de sesión nombra dos sitios distintos.
logout-unknown-site = El sitio que le envió aquí no está registrado con nosotros.
logout-unknown-return = La dirección a la que volver tras cerrar la sesión no está registrada para este sitio.
logout-malformed = La solicitud de cierre de sesión no es válida.

## Cuenta

account-title = Su cuenta
account-signed-in-as = Sesión iniciada como
account-contact = Datos de contacto
account-email = Correo electrónico: { $email }
account-phone = Teléfono: { $phone }
account-no-phone = Teléfono: ninguno
account-confirmed = confirmado
account-not-confirmed = sin confirmar
account-have-code = Tengo un código para confirmar un contacto
account-contact-hint = Solo los contactos confirmados reciben los códigos para recuperar su PIN.
account-contact-legend = Confirmar o cambiar un contacto
account-channel-email = Correo electrónico
account-channel-sms = Teléfono
account-contact-value = Nueva dirección o número
account-contact-value-hint = (déjelo vacío para confirmar el actual)
account-current-password = Contraseña actual
account-send-code = Enviar un código
account-password = Cambiar la contraseña
account-new-password = Contraseña nueva
account-new-password-confirm = Repita la contraseña nueva
account-change-password = Cambiar la contraseña
account-pin = Cambiar el PIN
account-current-pin = PIN actual
account-new-pin = PIN nuevo
account-new-pin-confirm = Repita el PIN nuevo
account-change-pin = Cambiar el PIN
account-questions = Preguntas de seguridad
account-questions-hint = Opcional. Si las configura, recuperar el PIN pedirá estas respuestas además del código que le enviamos.
account-questions-set = Configuradas:
account-questions-none = Ninguna configurada.
account-question = Pregunta { $n }
account-answer = Respuesta { $n }
account-save-questions = Guardar las preguntas
account-remove-questions = Quitar las preguntas
account-sessions = Dónde tiene la sesión iniciada
account-session-since = Inicio de sesión:
account-from = desde { $ip }
account-this-browser = este navegador
account-sign-out = Cerrar sesión
account-devices = Dispositivos de confianza
account-devices-hint = Otros dispositivos necesitan un código para entrar.
account-unknown-browser = Navegador desconocido
account-last-used = Último uso:
account-forget = Olvidar
account-none-yet = Ninguno todavía.
account-apps = Aplicaciones con permiso
account-withdraw = Retirar
account-none = Ninguna.
account-activity = Inicios de sesión recientes
account-removed-app = Una aplicación eliminada
account-security = Seguridad
account-contact-which = Qué contacto
account-questions-on = Configuradas
account-devices-and-sessions = Dispositivos y sesiones
account-device-name = { $browser } en { $os }
account-device-browser = { $browser }
account-activity-more = { $n ->
        [one] 1 inicio de sesión anterior
       *[other] { $n } inicios de sesión anteriores
    }
account-allowed = Permitida:
account-app-sees = Qué puede ver
account-time-just-now = hace un momento
account-time-minutes-ago = { $n ->
        [one] hace 1 minuto
       *[other] hace { $n } minutos
    }
account-time-hours-ago = { $n ->
        [one] hace 1 hora
       *[other] hace { $n } horas
    }
account-time-today = { $hour ->
        [1] hoy a la { $time }
       *[other] hoy a las { $time }
    }
account-time-yesterday = { $hour ->
        [1] ayer a la { $time }
       *[other] ayer a las { $time }
    }
account-time-date = { $day } de { $month } de { $year }, { $time }
account-month-1 = enero
account-month-2 = febrero
account-month-3 = marzo
account-month-4 = abril
account-month-5 = mayo
account-month-6 = junio
account-month-7 = julio
account-month-8 = agosto
account-month-9 = septiembre
account-month-10 = octubre
account-month-11 = noviembre
account-month-12 = diciembre
outcome-signed-in = Sesión iniciada
outcome-password-wrong = Contraseña incorrecta
outcome-throttled = Rechazado: demasiados intentos
outcome-pin-wrong = PIN incorrecto
outcome-pin-locked = PIN bloqueado
outcome-other = Otro
account-password-changed = Su contraseña ha cambiado. Se cerraron sus otras sesiones, y los sitios que usa le pedirán que vuelva a iniciar sesión.
account-password-wrong = Su contraseña actual no es correcta.
account-pin-wrong-locked = Su PIN actual no es correcto y su PIN ha quedado bloqueado. Cierre la sesión y use «¿Ha olvidado su PIN?» para desbloquearlo.
account-pin-wrong = Su PIN actual no es correcto. { $tries ->
        [one] Queda 1 intento.
       *[other] Quedan { $tries } intentos.
    }
account-no-pin = Su cuenta aún no tiene PIN.
account-pin-same = Elija un PIN distinto del actual.
account-pin-changed = Su PIN ha cambiado.
account-enter-phone = Escriba un número de teléfono.
account-choose-channel = Elija correo electrónico o teléfono.
account-email-confirmed = Su correo electrónico está confirmado.
account-phone-confirmed = Su número de teléfono está confirmado.
account-session-gone = Esa sesión ya había terminado.
account-session-ended = Esa sesión se ha cerrado.
account-device-unknown = Ese dispositivo no está en su lista.
account-device-forgotten = Ese dispositivo se ha olvidado: iniciar sesión en él volverá a requerir un código.
account-questions-removed = Sus preguntas de seguridad se han quitado.
account-questions-saved = Sus preguntas de seguridad se han guardado. La recuperación del PIN las pedirá.
account-app-unknown = Esa aplicación no está en su lista.
account-app-withdrawn = Acceso retirado. La aplicación tendrá que volver a pedírselo.
account-code-confirm = Confirmar
account-back = Volver a su cuenta

## Ayuda

help-title = Ayuda para iniciar sesión
help-forgot-pin = He olvidado mi PIN
help-forgot-pin-body = Su PIN es el número que eligió al crear su cuenta. Si no lo recuerda, elija «¿Ha olvidado su PIN?» al iniciar sesión: le enviamos un código a su correo electrónico o teléfono confirmado y elige un PIN nuevo. Si no puede recibir un código, póngase en contacto con el servicio de asistencia: comprobarán quién es y desbloquearán su cuenta.
help-locked-pin = Mi PIN está bloqueado
help-locked-pin-body = Tras demasiados PIN incorrectos seguidos, su PIN se bloquea para proteger su cuenta. Elija «Desbloquee su PIN» para recibir un código y elegir un PIN nuevo, o póngase en contacto con el servicio de asistencia.
help-new-device = Me piden un código en un dispositivo nuevo
help-new-device-body = La primera vez que inicia sesión en un navegador que no conocemos, enviamos un código a su correo electrónico o teléfono confirmado, para que su contraseña sola no le baste a otra persona.
help-changed-phone = He cambiado de número de teléfono
help-changed-phone-body = Inicie sesión y abra la página de su cuenta para cambiar y confirmar su número. Si ya no puede recibir ningún código, póngase en contacto con el servicio de asistencia.
help-password-in-pin = El campo del PIN rechaza lo que escribí
help-password-in-pin-body = Su PIN solo lleva números. Si escribió ahí su contraseña, no contó como un intento fallido.

## Errores

error-title = Algo ha fallado
error-reference = Referencia:
error-expired-title = Este inicio de sesión ha caducado
error-expired = Vuelva al sitio del que venía y elija «Iniciar sesión» de nuevo.
error-form-title = No hemos podido aceptar ese formulario
error-csrf = Este formulario era demasiado antiguo o no procedía de este sitio. Vuelva atrás, recargue la página e inténtelo de nuevo.
error-form = No hemos podido leer este formulario. Vuelva atrás, recargue la página e inténtelo de nuevo.
error-too-many-title = Demasiados intentos
error-too-many-seconds = Ha habido demasiados intentos desde su red. Espere { $seconds ->
        [one] 1 segundo
       *[other] { $seconds } segundos
    } y vuelva a intentarlo.
error-too-many-minutes = Ha habido demasiados intentos desde su red. Espere { $minutes ->
        [one] 1 minuto
       *[other] { $minutes } minutos
    } y vuelva a intentarlo.
error-not-sent-title = No hemos podido enviar su código
error-busy-title = Estamos muy ocupados
error-busy = Ahora mismo hay demasiadas personas iniciando sesión. Espere un minuto y vuelva a intentarlo.
error-paused-title = El inicio de sesión está en pausa
error-paused = No podemos acceder a un servicio que el inicio de sesión necesita, así que nos hemos detenido aquí. Vuelva a intentarlo dentro de un minuto.
error-internal = Algo ha fallado por nuestra parte. Vuelva a intentarlo; si sigue ocurriendo, póngase en contacto con el servicio de asistencia con la referencia que aparece abajo.
error-not-found-title = Página no encontrada
error-not-found = No hay ninguna página en esta dirección. Compruebe la dirección o vuelva al sitio del que venía.
authorize-refused-title = No podemos iniciar su sesión en ese sitio
authorize-request-used = La solicitud de inicio de sesión ha caducado o ya se usó. Vuelva al sitio e inténtelo de nuevo.
authorize-not-utf8 = La solicitud no es UTF-8 válido.
authorize-two-clients = La solicitud nombra más de un cliente.
authorize-no-client = La solicitud no dice de qué sitio viene (falta client_id).
authorize-unknown-client = El sitio que le envió aquí no está registrado con nosotros (client_id desconocido).
authorize-two-redirects = La solicitud nombra más de un redirect_uri.
authorize-no-redirect = La solicitud no dice adónde volver (falta redirect_uri).
authorize-unknown-redirect = La dirección a la que volver (redirect_uri) no está registrada para este sitio, así que no le enviaremos allí.
authorize-bad-request-object = El sitio envió una solicitud (un objeto de solicitud) que no se pudo verificar, y ninguna dirección registrada a la que volver, así que no le enviaremos de vuelta.

## Correos electrónicos y mensajes de texto

mail-hello = Hola, { $username }:
mail-not-you = Si no ha sido usted, cambie su contraseña ahora y póngase en contacto con el servicio de asistencia.
mail-pin-locked-subject = Su PIN está bloqueado
mail-pin-locked = Su PIN se bloqueó tras demasiados intentos incorrectos. Para desbloquearlo, elija «¿Ha olvidado su PIN?» la próxima vez que inicie sesión.
mail-pin-changed-subject = Su PIN ha cambiado
mail-pin-changed = El PIN de su cuenta acaba de cambiar.
mail-pin-unlocked-subject = Soporte desbloqueó su PIN
mail-pin-unlocked = Soporte desbloqueó el PIN de su cuenta. Inicie sesión con su contraseña y elija un PIN nuevo. Todas sus sesiones se cerraron.
mail-sessions-ended-subject = Se cerraron todas sus sesiones
mail-sessions-ended = Soporte cerró todas las sesiones de su cuenta. Vuelva a iniciar sesión donde lo necesite.
mail-role-granted-subject = Se le asignó un rol
mail-role-granted = A su cuenta se le asignó el rol «{ $role }».
mail-role-revoked-subject = Se le quitó un rol
mail-role-revoked = A su cuenta se le quitó el rol «{ $role }».
mail-password-changed-subject = Su contraseña ha cambiado
mail-password-changed = La contraseña de su cuenta acaba de cambiar.
mail-contact-changed-subject = Sus datos de contacto han cambiado
mail-contact-changed = El correo electrónico o el número de teléfono de su cuenta acaba de cambiar.
mail-profile-changed-subject = Su nombre o su dirección han cambiado
mail-profile-changed = Nuestro equipo de soporte acaba de cambiar el nombre o la dirección postal de su cuenta. Si no lo pidió, contacte con nosotros.
mail-recovered-subject = Su cuenta se ha recuperado
mail-recovered = Demostró quién es con un código y eligió un PIN nuevo.
mail-new-device-subject = Nuevo inicio de sesión en su cuenta
mail-new-device = Se acaba de iniciar sesión en su cuenta desde un dispositivo nuevo: { $browser }, desde { $place }.
mail-unknown-address = una dirección desconocida
mail-code-subject = Su código para { $purpose }
mail-code = Su código para { $purpose } es { $code }

    Sirve una vez, durante 10 minutos. Nadie de nuestra parte se lo pedirá nunca.
sms-code = { $code } es su código para { $purpose }. No lo comparta.
purpose-recover-pin = recuperar su PIN
purpose-confirm-email = confirmar su correo electrónico
purpose-confirm-phone = confirmar su número de teléfono
purpose-new-device = iniciar sesión en un dispositivo nuevo

# A forgotten password
login-forgot-password = ¿Ha olvidado su contraseña?
reset-title = Restablezca su contraseña
reset-intro = Escriba su nombre de usuario. Le enviamos un código al correo electrónico o al teléfono confirmado de su cuenta; después escribe su PIN y elige una contraseña nueva.
reset-username-missing = Escriba su nombre de usuario.
reset-back-to-sign-in = Volver a iniciar sesión
reset-choose-intro = Solo enviamos el código a un contacto que haya confirmado en su cuenta.
reset-by-email = Correo electrónico, a la dirección de mi cuenta
reset-by-sms = Mensaje de texto, al teléfono de mi cuenta
reset-other-username = Usar otro nombre de usuario
reset-code-sent-email = Si esa cuenta tiene un correo electrónico confirmado, le hemos enviado un código de 6 cifras. Sirve una vez, durante 10 minutos.
reset-code-sent-sms = Si esa cuenta tiene un teléfono confirmado, le hemos enviado un código de 6 cifras por mensaje de texto. Sirve una vez, durante 10 minutos.
reset-pin-why = Su PIN confirma que es usted antes de elegir una contraseña nueva.
reset-pin-forgot = También he olvidado mi PIN
reset-pin-locked = Un PIN bloqueado no puede confirmar el restablecimiento de la contraseña. Si recuerda su contraseña, inicie sesión y elija «Desbloquear su PIN». Si ha olvidado las dos cosas, póngase en contacto con el servicio de asistencia: comprobarán quién es.
reset-new-title = Elija una contraseña nueva
reset-new-intro = Cuando se guarde, se cerrarán todas sus demás sesiones y se lo comunicaremos por correo electrónico.
reset-new-password = Contraseña nueva
reset-new-save = Guardar la contraseña y continuar
purpose-reset-password = restablecer su contraseña
mail-password-reset-subject = Se ha restablecido su contraseña
mail-password-reset = Demostró quién es con un código y su PIN, y eligió una contraseña nueva. Se cerraron sus demás sesiones.
help-forgot-password = He olvidado mi contraseña
help-forgot-password-body = Elija «¿Ha olvidado su contraseña?» en la página de inicio de sesión y escriba su nombre de usuario. Le enviamos un código a su correo electrónico o teléfono confirmado; lo escribe, después su PIN, y elige una contraseña nueva.
help-forgot-both = He olvidado mi contraseña y mi PIN
help-forgot-both-body = Cada uno se recupera con el otro: el PIN con la contraseña y la contraseña con el PIN. Si ha olvidado los dos, o su PIN está bloqueado y ha olvidado su contraseña, póngase en contacto con el servicio de asistencia: comprobarán quién es y desbloquearán su cuenta.
pin-step-up-why = { $client } le pide que confirme de nuevo que es usted antes de continuar. Sigue con la sesión iniciada: solo hace falta su PIN.
signed-up-account = Ir a su cuenta

# The operator's brand and support contact
support-contact = Asistencia:
help-support = Contactar con el servicio de asistencia
help-support-body = El servicio de asistencia puede comprobar quién es y desbloquear su cuenta cuando la recuperación no es posible. Nunca le pedirá su contraseña ni su PIN.
help-support-email = Correo electrónico:
help-support-phone = Teléfono:
help-support-hours = Horario:
help-support-none = Póngase en contacto con la organización que gestiona este servicio. Nunca le pedirá su contraseña ni su PIN.
back-to-start = Volver a la página de inicio
signup-have-account = ¿Ya tiene una cuenta?
signup-sign-in = Iniciar sesión
mail-support = ¿Tiene preguntas? Contacte con el servicio de asistencia: { $contact }
login-cancel = Cancelar y volver a { $client }
login-cancel-start = Cancelar

## Second factors at sign-in
factor-title = Un paso más
factor-why = { $client } pide un segundo factor para esto: algo que usted tiene, además de su contraseña y su PIN.
device-use-passkey = Usar su llave de acceso en su lugar
device-use-app = Usar su aplicación de autenticación en su lugar
factor-app-label = Código de su aplicación de autenticación
factor-app-hint = Las 6 cifras que muestra ahora su aplicación.
factor-saved-summary = Usar un código de recuperación guardado
factor-saved-label = Código de recuperación guardado
factor-saved-hint = Uno de los códigos que guardó al crearlos, como 7K3M-9QXD-4V2A-8HTC. Cada uno sirve una vez.
factor-text-me = Enviar un código por SMS a { $to }
factor-text-again = Enviar un código nuevo por SMS
factor-texted-label = Código del SMS
factor-texted-hint = Hemos enviado un código de 6 cifras a { $to }. Sirve una vez, durante 10 minutos.
account-passkey-why = Una llave de acceso es una clave que guarda su teléfono, su ordenador o su llave de seguridad, y que se abre con su huella, su cara o el bloqueo de pantalla. Solo sirve en este sitio, así que un sitio que se le parezca no puede usarla.
account-passkey-unavailable = Las llaves de acceso no están disponibles en este sitio.
account-passkey-added = Se añadió su llave de acceso.
passkey-use = Usar su llave de acceso
passkey-add = Añadir una llave de acceso
passkey-name-label = Un nombre para ella (opcional)
passkey-failed = La llave de acceso no respondió. Inténtelo de nuevo o use otra forma de las de abajo.
passkey-needs-script = Las llaves de acceso necesitan JavaScript, que está desactivado en este navegador.
passkey-refused = No se pudo comprobar esa llave de acceso. Inténtelo de nuevo.
factor-add-passkey-why = Esto pide una llave de acceso: una clave que guarda su teléfono, su ordenador o su llave de seguridad, y que se abre con su huella, su cara o el bloqueo de pantalla. Añada una ahora.
factor-none-yet = Aún no tiene un segundo factor. Añada ahora una aplicación de autenticación: lleva un minuto.
factor-add-app = Añadir una aplicación de autenticación
factor-passkey-needed = Esto pide una llave de acceso, y usted aún no ha añadido ninguna.
factor-decline = No puedo usar ninguno de estos
factor-decline-essential = No puedo usar ninguno de estos (volver)
factor-code-missing = Escriba el código.
factor-app-code-wrong = Ese código no es correcto. Compruebe la hora de su teléfono y escriba el código que muestra ahora la aplicación.
factor-app-code-used = Ese código ya se usó. Espere a que la aplicación muestre uno nuevo.
factor-saved-code-wrong = Ese código guardado no es correcto, o ya se usó.
factor-kind-app = Aplicación de autenticación
factor-kind-passkey = Llave de acceso
add-app-title = Añadir una aplicación de autenticación
add-app-install = Instale una aplicación de autenticación en su teléfono, si no tiene ninguna: sirve cualquiera que muestre códigos de 6 cifras.
add-app-qr-label = Un código para escanear con su aplicación de autenticación
add-app-scan = En la aplicación, añada una cuenta y escanee este código.
add-app-type = ¿No puede escanearlo? Escriba esta clave:
add-app-uri = Mostrar el enlace de configuración
add-app-code-label = El código de 6 cifras que muestra ahora la aplicación
add-app-name-label = Un nombre para ella (opcional)
add-app-name-hint = Para distinguir sus aplicaciones, como «Teléfono del trabajo».
add-app-submit = Añadir la aplicación

## Second factors in messages
mail-factor-added-subject = Se añadió un segundo factor a su cuenta
mail-factor-added = Se añadió un segundo factor a su cuenta: { $kind } «{ $name }», desde { $browser }, { $place }.
mail-factor-removed-subject = Se quitó un segundo factor de su cuenta
mail-factor-removed = Se quitó un segundo factor de su cuenta: { $kind } «{ $name }», desde { $browser }, { $place }.
mail-saved-codes-subject = Nuevos códigos de recuperación guardados
mail-saved-codes = Se crearon nuevos códigos de recuperación para su cuenta, desde { $browser }, { $place }. Sus códigos anteriores ya no sirven.
mail-saved-code-used-subject = Se usó un código de recuperación guardado
mail-saved-code-used = Se usó uno de sus códigos de recuperación guardados para iniciar sesión, desde { $browser }, { $place }. { $left ->
    [0] No le quedan códigos guardados: cree otros nuevos en la página de su cuenta.
    [one] Le queda 1 código guardado.
   *[other] Le quedan { $left } códigos guardados.
}
account-factors = Segundo factor
account-factors-on = Activado
account-factors-off = Sin activar
account-factors-hint = Algo que usted tiene, además de su contraseña y su PIN: los sitios que necesitan más seguridad se lo piden al iniciar sesión.
account-factor-added = Añadido:
account-factor-never-used = sin usar aún
account-factors-none = Aún no hay aplicación de autenticación.
account-saved-codes = Códigos de recuperación guardados
account-saved-codes-left = { $n ->
        [one] queda 1 código
       *[other] quedan { $n } códigos
    }
account-saved-codes-made = creados:
account-saved-codes-none = No se crearon.
account-saved-codes-hint = Los códigos guardados le permiten iniciar sesión cuando no puede usar su aplicación: cada uno sirve una vez.
account-saved-codes-replace = Al crear códigos nuevos, los actuales dejan de funcionar.
account-saved-codes-new = Crear códigos guardados nuevos
account-saved-codes-make = Crear códigos guardados
account-factors-step-up-aal2 = Para añadir otro o crear códigos guardados nuevos, vuelva a iniciar sesión con un segundo factor que tenga.
account-factors-step-up-device = Para añadir uno, vuelva a iniciar sesión en este dispositivo e introduzca el código que le enviamos.
account-factors-step-up = Volver a iniciar sesión
account-factors-step-up-needed = Para eso, vuelva a iniciar sesión primero (vea «Segundo factor»).
account-factor-which = Cuál
account-factor-new-name = Nombre nuevo
account-factor-rename = Cambiar el nombre
account-factor-remove-hint = Para quitar un segundo factor hace falta su PIN. Se lo avisaremos por correo electrónico.
account-factor-remove = Quitar
account-add-app-expired = La configuración tardó demasiado. Escanee este código nuevo, o escriba la clave nueva, e introduzca el código que muestre su aplicación.
account-app-added = Su aplicación de autenticación está añadida.
account-factor-renamed = El nombre nuevo está guardado.
account-factor-removed = Ese segundo factor está quitado. Le enviamos un correo electrónico al respecto.
account-factor-unknown = Ese segundo factor no está en su lista.
saved-codes-title = Sus códigos de recuperación guardados
saved-codes-keep = Imprima estos códigos o anótelos, y guárdelos en un lugar seguro. Cada uno le permite iniciar sesión una vez cuando no puede usar su aplicación de autenticación.
saved-codes-once = Es la única vez que se muestran. Los códigos guardados anteriores, si los tenía, ya no funcionan.
account-questions-off = En este sitio no se usan preguntas de seguridad.

account-profile = Nombre y dirección
account-profile-hint = Las aplicaciones a las que permita ver su perfil o su dirección leen estos datos. Deje un campo vacío para quitarlo.
account-profile-name = Nombre completo
account-profile-given-name = Nombre
account-profile-family-name = Apellidos
account-profile-address = Dirección postal
account-profile-street = Calle y número
account-profile-locality = Ciudad o localidad
account-profile-region = Provincia, estado o región
account-profile-postal-code = Código postal
account-profile-country = País
account-profile-save = Guardar nombre y dirección
account-profile-saved = Su nombre y su dirección están guardados.
account-profile-too-long = Es demasiado largo: 200 caracteres como máximo.
account-profile-bad-characters = Tiene caracteres que no se pueden mostrar (caracteres de control).
account-optional = (opcional)

# La página que lleva la respuesta del inicio de sesión a la aplicación (response_mode=form_post).
form-post-title = Volviendo a la aplicación
form-post-lead = Le estamos enviando de vuelta a la aplicación. Si no pasa nada, pulse Continuar.

# Las consolas (/admin): soporte y administración.
console-title = Consola de soporte
console-people = Personas
console-search-label = Buscar a una persona
console-search-hint = Parte de un nombre de usuario, o una dirección de correo o un número de teléfono completos.
console-search = Buscar
console-search-too-long = Escriba como máximo 100 caracteres.
console-people-found = Personas encontradas
console-email = Correo electrónico
console-phone = Teléfono
console-pin = PIN
console-disabled = desactivada
console-next-page = Más personas
console-no-one-found = Nadie coincide.
console-pin-not-set = Sin PIN: elegirá uno nuevo al iniciar sesión
console-pin-locked = Bloqueado
console-pin-tries-left = Le quedan { $tries } intentos
console-no-person = No existe esa persona.
console-back = Volver a la búsqueda
console-created = Cuenta creada
console-roles = Roles
console-status = Estado
console-confirmed = confirmado
console-unconfirmed = sin confirmar
console-saved-codes = Códigos de recuperación guardados restantes
console-unlock = Desbloquear el PIN
console-unlock-explained = Solo después de confirmar quién es la persona. Su PIN se borra: al iniciar sesión dará su contraseña y elegirá un PIN nuevo. Todas sus sesiones se cierran y se le avisa por correo.
console-reason = Motivo (queda en el registro de auditoría)
console-reason-needed = Indique un motivo: queda en el registro de auditoría.
console-reason-too-long = El motivo debe tener menos de 500 caracteres.
console-factors = Segundos factores
console-added = añadido
console-remove-factor = Quitar este factor
console-no-factors = Ningún segundo factor.
console-no-factor = La persona no tiene ese factor.
console-sessions = Sesiones
console-end-sessions = Cerrar todas las sesiones
console-no-sessions = Ninguna sesión.
console-devices = Navegadores de confianza
console-no-devices = Ningún navegador de confianza.
console-events = Eventos de seguridad recientes
console-no-events = Aún no hay eventos.
console-by = Por
console-done-unlocked = El PIN está desbloqueado. La persona elegirá uno nuevo al iniciar sesión, y se le avisó.
console-done-sessions = Todas las sesiones de la persona se cerraron, y se le avisó.
console-done-factor = El factor se quitó, y se le avisó.
console-profile-change = Cambiar el nombre o la dirección
console-profile-explained = Lo que leen las aplicaciones en los claims estándar. Deje un campo vacío para quitarlo. Se avisa a la persona por correo.
console-done-profile = El nombre y la dirección están guardados, y se avisó a la persona.
console-resend-confirmation = Enviar un código de confirmación nuevo
console-resend-confirmation-explained = Para un contacto que la persona aún no ha confirmado: se le envía un código nuevo, que introduce en la página de su cuenta («Tengo un código para confirmar un contacto») con la sesión iniciada.
console-resend-which = Qué contacto
console-nothing-to-confirm = Ese contacto ya está confirmado, o la persona no tiene ninguno.
console-done-confirmation = Un código nuevo va de camino; la persona lo introduce en la página de su cuenta.
console-forbidden = Esta página es para personas con rol de soporte o de administración.
console-step-up-title = Inicie sesión de nuevo para continuar
console-step-up-level = Las consolas necesitan un inicio de sesión con un segundo factor (una aplicación de autenticación, una llave de acceso o un código de recuperación guardado).
console-step-up-fresh = Los cambios desde una consola necesitan un inicio de sesión de los últimos 15 minutos.
console-step-up = Iniciar sesión de nuevo
console-step-up-no-factor = ¿Aún no tiene un segundo factor? Añada uno en la página de su cuenta:
console-account = su cuenta
error-no-access-title = No es para usted
account-roles = Roles:
account-console = Abrir la consola de soporte
console-areas = Secciones de la consola
console-admins-only = Esta página es para personas con rol de administración.
console-keys = Claves de firma
console-key = Clave
console-key-signs-from = Firma desde
console-keys-rotate = Renovar las claves
console-keys-rotate-explained = Se publica ya una clave nueva por algoritmo, que firmará cuando las aplicaciones hayan podido obtenerla; los tokens firmados con las claves actuales siguen siendo válidos.
console-keys-retire = Retirar una clave ya
console-keys-retire-explained = La clave deja de firmar al instante y la siguiente clave publicada la sustituye; lo que firmó sigue siendo válido hasta que caduque.
console-keys-revoke = Revocar una clave
console-keys-revoke-explained = Solo para una clave filtrada: se elimina al instante y todos los tokens que firmó dejan de ser válidos. Escriba de nuevo el identificador de la clave para confirmar.
console-keys-confirm-label = El identificador de la clave, otra vez
console-keys-confirm = Escriba exactamente el identificador de la clave elegida.
console-keys-refused = Las claves no cambiaron: { $why }
console-keys-rotated = Se publicaron claves nuevas; firmarán cuando las aplicaciones hayan podido obtenerlas.
console-keys-retired = La clave está retirada; su siguiente clave firma ya.
console-keys-revoked = La clave está revocada; lo que firmó ya no es válido.
console-audit = Registro de auditoría
console-audit-person = Persona (nombre de usuario)
console-audit-person-link = la persona
console-audit-client = Cliente
console-audit-kind = Tipo de evento
console-audit-any = Cualquiera
console-audit-from = Desde (UTC)
console-audit-until = Hasta (UTC)
console-audit-filter = Mostrar
console-audit-verify = Comprobar la cadena del registro
console-audit-newest = Eventos más recientes
console-audit-no-person = No hay nadie con ese nombre de usuario.
console-audit-bad-kind = Elija un tipo de la lista.
console-audit-bad-date = Indique una fecha como AAAA-MM-DD.
console-audit-intact = El registro está íntegro: se comprobaron { $rows } filas enlazadas. La más reciente es la fila { $last }, enlace { $link }; anótelos en otro lugar para comprobar más tarde que no se quitó ninguna fila.
console-search-too-short = Escriba al menos 3 caracteres.
console-reason-one-line = Escriba el motivo en una sola línea.
console-not-yourself = Aquí no puede actuar sobre su propia cuenta: use la página de su cuenta.
console-staff-for-admins = Solo una persona de administración actúa sobre alguien con un rol.
console-clients = Clientes
console-clients-none-yet = Aún no hay clientes.
console-clients-new = Un cliente nuevo
console-clients-name = Nombre, tal como lo ven las personas al iniciar sesión
console-clients-redirect-uris = URI de redirección
console-clients-logout-uris = A dónde van las personas tras cerrar sesión
console-clients-one-a-line = Una URI exacta por línea.
console-clients-create = Registrar el cliente
console-clients-refused = El cliente no cambió: { $why }
console-clients-created = Cliente registrado
console-clients-issuer = Emisor
console-clients-id = Identificador del cliente
console-clients-secret = Secreto del cliente
console-clients-secret-once = Es la única vez que se muestra el secreto: cópielo ahora. Solo se guarda su resumen.
console-clients-open = Abrir el cliente
console-clients-back = Volver a los clientes
console-clients-method = Autenticación
console-clients-uris = URI de redirección y de cierre de sesión
console-clients-save-uris = Guardar las URI
console-clients-uris-changed = Las URI están guardadas.
console-clients-rotate = Crear un secreto nuevo
console-clients-rotate-explained = El secreto actual deja de funcionar al instante: entregue el nuevo a quienes operan el cliente cuanto antes.
console-clients-secret-rotated = Se creó un secreto nuevo; el anterior ya no funciona.
console-clients-no-secret = Este cliente no tiene secreto que sustituir.
console-clients-disable = Desactivar el cliente
console-clients-disable-explained = Ya no podrá iniciar la sesión de nadie ni obtener tokens, y se revoca todo lo que se le concedió.
console-clients-disabled = El cliente está desactivado.
console-clients-none = No existe ese cliente.
console-developer-title = Sus clientes
console-developers-only = Esta página es para personas con rol de desarrollo.
console-reason-optional = Nota para el registro de auditoría (opcional)
console-clients-backchannel = URI de cierre de sesión por canal trasero (opcional)
console-clients-method-client_secret_basic = Un secreto, en la cabecera Authorization (client_secret_basic)
console-clients-method-client_secret_post = Un secreto, en el formulario (client_secret_post)
console-clients-method-private_key_jwt = Un JWT firmado con su clave (private_key_jwt)
console-clients-method-none = Ninguno: un cliente público con PKCE (una aplicación de teléfono o de navegador)
console-clients-method-choose = Elija cómo demuestra el cliente quién es.
console-clients-jwks-uri = La dirección de sus claves públicas (jwks_uri)
console-clients-jwks = O sus claves públicas (un JWK Set)
console-clients-keys-hint = Solo para un cliente que firma con su clave (private_key_jwt): una de las dos.
console-clients-delete = Eliminar el cliente
console-clients-delete-explained = Desaparece para siempre: ya no podrá iniciar la sesión de nadie y se revoca todo lo que se le concedió.
console-clients-snippets = Configuración lista
console-clients-snippet-rust = Rust, con el crate openidconnect
console-clients-snippet-js = JavaScript, con openid-client
console-clients-more = Más opciones
console-clients-kind = Qué puede hacer el cliente
console-clients-option-third_party = Un tercero: se pide el consentimiento de las personas antes de que reciba sus datos
console-clients-option-resource_server = Un servidor de recursos: puede examinar tokens emitidos a otros clientes
console-clients-option-admin_api = Puede usar la API de administración
console-clients-option-fapi2 = Bajo el perfil de seguridad FAPI 2.0 (URI de redirección https; private_key_jwt o TLS mutuo)
console-clients-option-dpop_bound = Cada token de acceso ligado a una clave DPoP
console-clients-id-token-alg = Cómo se firman sus tokens de ID
console-clients-alg-invalid = Elija ES256, RS256 o EdDSA.
console-clients-subject-type = El identificador que recibe de cada persona
console-clients-subject-public = El mismo para todos los clientes (público)
console-clients-subject-pairwise = Uno propio para el sector de este cliente (por pares)
console-clients-subject-invalid = Elija público o por pares.
console-clients-sector-uri = URI del identificador de sector (por pares, opcional)
console-clients-request-uris = Dónde guarda sus objetos de solicitud (request_uri), una por línea
console-clients-tls-subject = El sujeto de su certificado, para tls_client_auth (por ejemplo CN=portal,O=Example,C=GB)
console-clients-links = Enlaces que ven las personas al iniciar sesión
console-clients-link-logo_uri = Logotipo
console-clients-link-client_uri = Página de inicio
console-clients-link-policy_uri = Política de privacidad
console-clients-link-tos_uri = Condiciones del servicio
console-clients-method-tls_client_auth = Un certificado TLS de cliente de una autoridad de confianza (tls_client_auth)
console-clients-method-self_signed_tls_client_auth = Un certificado TLS de cliente autofirmado entre sus claves (self_signed_tls_client_auth)
console-registration = Tokens de registro
console-registration-explained = Un token de registro permite a un desarrollador registrar clientes en /register (registro dinámico, RFC 7591) sin tener una cuenta aquí. Entréguelo solo a quienes deban registrar clientes: se muestra una sola vez y solo se guarda su resumen.
console-registration-uses = Registros que permite
console-registration-uses-invalid = Indique un número entero de registros, de 1 a 100000.
console-registration-expires = Válido durante
console-registration-expires-invalid = Elija cuánto tiempo es válido el token.
console-registration-for-24h = 24 horas
console-registration-for-1h = 1 hora
console-registration-for-7d = 7 días
console-registration-for-30d = 30 días
console-registration-make = Crear un token
console-registration-made = Copie este token ahora: no se volverá a mostrar. Permite { $uses } registros, hasta
account-developer = Abrir la consola de desarrollo
console-disable = Desactivar la cuenta
console-disable-explained = La persona ya no puede iniciar sesión: se cierran todas sus sesiones, se revoca todo lo concedido a las aplicaciones y se olvidan sus navegadores de confianza, hasta que una persona de administración vuelva a activar la cuenta.
console-enable = Activar la cuenta
console-enable-explained = La persona puede volver a iniciar sesión.
console-done-disabled = La cuenta está desactivada.
console-done-enabled = La cuenta vuelve a estar activada.
