/* image.c - images for a member on Matrix (the mood chart): an m.image event with its info
 * (w, h, mimetype, size) and a body that says in words what the image shows, for screen
 * readers. Sent privately like an export (send.c): into an encrypted chat the file is encrypted
 * before upload and only ciphertext reaches the media store. */
#include "net/matrix/mx.h"
#include "core/err.h"

#include <jansson.h>
#include <stdio.h>

json_t *mx_image_content(const struct himage *img)
{
	return json_pack("{s:s, s:s, s:s, s:{s:s, s:I, s:i, s:i}, s:{}}", "msgtype", "m.image",
			 "body", img->alt && *img->alt ? img->alt : img->file.name, "filename",
			 img->file.name, "info", "mimetype", img->file.mime, "size",
			 (json_int_t)img->file.len, "w", img->width, "h", img->height, "m.mentions");
}

int mx_op_send_image(struct htransport *t, const struct hmsg *in, const struct himage *img)
{
	return mx_send_attachment((struct mx *)t->impl, in, mx_image_content(img), &img->file);
}
