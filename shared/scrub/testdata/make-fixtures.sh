#!/usr/bin/env bash
# Regenerates the scrub fixtures: small files written by real tools, with metadata that
# the scrubber must remove. Every text we plant contains "SCRUBME" and every date is
# 2011-11-11 (written "2011:11:11" by EXIF), so the tests can search the output bytes.
# GPS positions are numbers: the tests check them through exiftool and by parsing.
#
# Needs (Debian): libimage-exiftool-perl imagemagick ffmpeg ghostscript qpdf webp
#                 libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui
# Run from anywhere: bash shared/scrub/testdata/make-fixtures.sh
set -euo pipefail
cd "$(dirname "$0")"
for t in exiftool convert ffmpeg gs qpdf cwebp soffice; do
	command -v "$t" >/dev/null || { echo "make-fixtures: $t is missing (see the header)" >&2; exit 1; }
done
# /usr/local/bin/convert may be a stand-in: use ImageMagick's own.
CONVERT=/usr/bin/convert
[ -x "$CONVERT" ] || CONVERT=convert
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
ICC=$(ls /usr/share/color/icc/ghostscript/srgb.icc 2>/dev/null || true)
EX=(exiftool -q -overwrite_original -m)
export TZ=UTC

# The common set of image metadata: EXIF (with GPS), XMP, IPTC.
IMGTAGS=(
	-EXIF:Artist=SCRUBME-exif-artist -EXIF:ImageDescription=SCRUBME-exif-description
	-EXIF:Make=SCRUBME-make -EXIF:Model=SCRUBME-model -EXIF:Software=SCRUBME-software
	-EXIF:DateTimeOriginal="2011:11:11 11:11:11" -EXIF:ModifyDate="2011:11:11 11:11:11"
	-EXIF:UserComment=SCRUBME-exif-usercomment -EXIF:XPAuthor=SCRUBME-xpauthor
	-GPSLatitude=48.8584 -GPSLatitudeRef=N -GPSLongitude=2.2945 -GPSLongitudeRef=E
	-GPSAltitude=35 -GPSAltitudeRef=0
	-XMP-dc:Creator=SCRUBME-xmp-creator -XMP-dc:Description=SCRUBME-xmp-description
	-XMP-xmp:CreateDate="2011:11:11 11:11:11" -XMP-photoshop:City=SCRUBME-xmp-city
)
IPTCTAGS=(-IPTC:By-line=SCRUBME-iptc-byline -IPTC:Keywords=SCRUBME-iptc-keyword
	-IPTC:City=SCRUBME-iptc-city -IPTC:DateCreated=2011:11:11)

# JPEG, baseline, rotated (Orientation 6), with an embedded EXIF thumbnail, an ICC
# profile (to keep), a COM comment, XMP, IPTC (APP13).
"$CONVERT" -size 64x48 gradient:red-blue -quality 90 -comment SCRUBME-jpeg-comment "$TMP/a.jpg"
"$CONVERT" -size 16x12 gradient:green-yellow "$TMP/thumb.jpg"
"${EX[@]}" "${IMGTAGS[@]}" "${IPTCTAGS[@]}" -Comment=SCRUBME-jpeg-comment -Orientation=6 -n "-ThumbnailImage<=$TMP/thumb.jpg" \
	${ICC:+"-ICC_Profile<=$ICC"} "$TMP/a.jpg"
cp "$TMP/a.jpg" jpeg-rotated.jpg


# JPEG, progressive (several scans), Orientation 1: EXIF with GPS, XMP, IPTC, COM.
"$CONVERT" -seed 7 -size 80x60 plasma:fractal -interlace Plane -quality 85 "$TMP/b.jpg"
"${EX[@]}" "${IMGTAGS[@]}" "${IPTCTAGS[@]}" -Comment=SCRUBME-jpeg-comment2 -Orientation=1 -n "$TMP/b.jpg"
cp "$TMP/b.jpg" jpeg-progressive.jpg

# PNG with tEXt (ImageMagick comment), zTXt/iTXt (exiftool -z), eXIf with Orientation 8,
# XMP (iTXt), tIME.
"$CONVERT" -size 40x30 gradient:orange-purple -comment SCRUBME-png-comment "$TMP/c.png"
"${EX[@]}" -z -PNG:Author=SCRUBME-png-author -PNG:Comment=SCRUBME-png-ztxt \
	-PNG:CreationTime="2011:11:11 11:11:11" -PNG:ModifyDate="2011:11:11 11:11:11" \
	"$TMP/c.png"
"${EX[@]}" "${IMGTAGS[@]}" -Orientation=8 -n "$TMP/c.png"
cp "$TMP/c.png" png-rotated.png

# WebP (lossy, VP8X written by exiftool) with EXIF (Orientation 3) and XMP; and a lossless
# one with an ICC profile and alpha.
"$CONVERT" -size 48x32 gradient:cyan-magenta "$TMP/d.png"
cwebp -quiet -q 80 "$TMP/d.png" -o "$TMP/d.webp"
"${EX[@]}" "${IMGTAGS[@]}" -Orientation=3 -n "$TMP/d.webp"
cp "$TMP/d.webp" webp-lossy.webp
"$CONVERT" -size 32x32 xc:none -fill '#3080c0' -draw 'circle 16,16 16,4' "$TMP/e.png"
cwebp -quiet -lossless -metadata icc "$TMP/e.png" -o "$TMP/e.webp"
"${EX[@]}" -XMP-dc:Creator=SCRUBME-webp-xmp -EXIF:Artist=SCRUBME-webp-artist \
	${ICC:+"-ICC_Profile<=$ICC"} "$TMP/e.webp"
cp "$TMP/e.webp" webp-lossless.webp

# GIF, animated (NETSCAPE2.0 loop, kept), with comment extensions and XMP (application
# extension, removed).
"$CONVERT" -delay 20 -size 24x24 xc:red xc:blue xc:green -loop 0 -comment SCRUBME-gif-comment "$TMP/f.gif"
"${EX[@]}" -XMP-dc:Creator=SCRUBME-gif-xmp -XMP-xmp:CreateDate="2011:11:11 11:11:11" \
	-Comment=SCRUBME-gif-comment-exiftool "$TMP/f.gif"
cp "$TMP/f.gif" gif-animated.gif

# PDF written by Ghostscript, with a DOCINFO pdfmark (Info dictionary and XMP), then updated
# by exiftool (an incremental update: a second Info dictionary and XMP stream, the first
# ones still in the file).
cat >"$TMP/g.ps" <<'PS'
%!PS
[ /Title (SCRUBME-pdf-title) /Author (SCRUBME-pdf-author) /Subject (SCRUBME-pdf-subject)
  /Keywords (SCRUBME-pdf-keywords) /Creator (SCRUBME-pdf-creator)
  /CreationDate (D:20111111111111Z) /ModDate (D:20111111111111Z) /DOCINFO pdfmark
/Helvetica findfont 24 scalefont setfont 72 700 moveto (Hello, scrubbed world) show
showpage
PS
gs -q -dNOPAUSE -dBATCH -sDEVICE=pdfwrite -dCompressPages=true -sOutputFile="$TMP/g.pdf" "$TMP/g.ps"
cp "$TMP/g.pdf" pdf-gs.pdf
"${EX[@]}" -PDF:Author=SCRUBME-pdf-author2 -PDF:Keywords=SCRUBME-pdf-keywords2 \
	-XMP-dc:Creator=SCRUBME-pdf-xmp-creator -XMP-pdf:Producer=SCRUBME-pdf-xmp-producer "$TMP/g.pdf"
cp "$TMP/g.pdf" pdf-incremental.pdf
# qpdf rewrites it with object streams and a cross-reference stream: the Info dictionary
# then lives inside a compressed object stream.
qpdf --object-streams=generate --compress-streams=y "$TMP/g.pdf" pdf-objstm.pdf

# MP4 written by ffmpeg (udta with ©nam ©ART ©cmt ©day ©xyz ©too), with exiftool adding
# XMP (uuid box) and more QuickTime tags; a MOV with Apple keys (mdta meta box).
ffmpeg -loglevel error -y -f lavfi -i testsrc=size=64x48:rate=5:duration=1 \
	-f lavfi -i sine=frequency=440:duration=1 -shortest \
	-c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac -b:a 32k \
	-metadata title=SCRUBME-mp4-title -metadata artist=SCRUBME-mp4-artist \
	-metadata comment=SCRUBME-mp4-comment -metadata creation_time=2011-11-11T11:11:11Z \
	-metadata location=+48.8584+002.2945/ -metadata date=2011 \
	-fflags +bitexact "$TMP/h.mp4"
"${EX[@]}" -XMP-dc:Creator=SCRUBME-mp4-xmp -XMP-xmp:CreateDate="2011:11:11 11:11:11" \
	-QuickTime:Artist=SCRUBME-mp4-qt-artist "$TMP/h.mp4"
cp "$TMP/h.mp4" mp4-ffmpeg.mp4
ffmpeg -loglevel error -y -f lavfi -i testsrc=size=64x48:rate=5:duration=1 \
	-c:v libx264 -preset ultrafast -pix_fmt yuv420p -movflags use_metadata_tags \
	-metadata com.apple.quicktime.location.ISO6709=+48.8584+002.2945+035.000/ \
	-metadata com.apple.quicktime.make=SCRUBME-mov-make -metadata com.apple.quicktime.model=SCRUBME-mov-model \
	-metadata com.apple.quicktime.software=SCRUBME-mov-software \
	-metadata com.apple.quicktime.creationdate=2011-11-11T11:11:11+0100 \
	-metadata creation_time=2011-11-11T11:11:11Z -fflags +bitexact "$TMP/i.mov"
cp "$TMP/i.mov" mov-apple.mov

# Office documents: LibreOffice converts flat XML sources (with metadata, a comment and a
# tracked change by a named author) into ODF and OOXML.
cat >"$TMP/doc.fodt" <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:dc="http://purl.org/dc/elements/1.1/"
 xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0" office:version="1.3" office:mimetype="application/vnd.oasis.opendocument.text">
 <office:meta>
  <meta:initial-creator>SCRUBME-odf-initial-creator</meta:initial-creator>
  <dc:creator>SCRUBME-odf-creator</dc:creator>
  <dc:title>SCRUBME-odf-title</dc:title>
  <dc:subject>SCRUBME-odf-subject</dc:subject>
  <dc:description>SCRUBME-odf-description</dc:description>
  <meta:keyword>SCRUBME-odf-keyword</meta:keyword>
  <meta:creation-date>2011-11-11T11:11:11</meta:creation-date>
  <dc:date>2011-11-11T11:11:11</dc:date>
  <meta:editing-cycles>42</meta:editing-cycles>
  <meta:editing-duration>PT11H11M11S</meta:editing-duration>
  <meta:user-defined meta:name="SCRUBME-odf-userfield">SCRUBME-odf-uservalue</meta:user-defined>
 </office:meta>
 <office:body><office:text>
  <text:tracked-changes>
   <text:changed-region text:id="ct1"><text:insertion><office:change-info>
    <dc:creator>SCRUBME-odf-change-author</dc:creator><dc:date>2011-11-11T11:11:11</dc:date>
   </office:change-info></text:insertion></text:changed-region>
  </text:tracked-changes>
  <text:p>Hello <text:change-start text:change-id="ct1"/>inserted<text:change-end text:change-id="ct1"/> world.<office:annotation><dc:creator>SCRUBME-odf-comment-author</dc:creator><dc:date>2011-11-11T11:11:11</dc:date><text:p>A comment.</text:p></office:annotation></text:p>
 </office:text></office:body>
</office:document>
XML
cat >"$TMP/sheet.fods" <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"
 xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0"
 office:version="1.3" office:mimetype="application/vnd.oasis.opendocument.spreadsheet">
 <office:meta>
  <meta:initial-creator>SCRUBME-ods-initial-creator</meta:initial-creator>
  <dc:creator>SCRUBME-ods-creator</dc:creator><dc:title>SCRUBME-ods-title</dc:title>
  <meta:creation-date>2011-11-11T11:11:11</meta:creation-date><dc:date>2011-11-11T11:11:11</dc:date>
 </office:meta>
 <office:body><office:spreadsheet><table:table table:name="Sheet1">
  <table:table-row><table:table-cell office:value-type="float" office:value="42"><text:p>42</text:p>
   <office:annotation><dc:creator>SCRUBME-ods-comment-author</dc:creator><dc:date>2011-11-11T11:11:11</dc:date><text:p>A comment.</text:p></office:annotation>
  </table:table-cell></table:table-row>
 </table:table></office:spreadsheet></office:body>
</office:document>
XML
cat >"$TMP/slides.fodp" <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"
 xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0"
 xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0"
 office:version="1.3" office:mimetype="application/vnd.oasis.opendocument.presentation">
 <office:meta>
  <meta:initial-creator>SCRUBME-odp-initial-creator</meta:initial-creator>
  <dc:creator>SCRUBME-odp-creator</dc:creator><dc:title>SCRUBME-odp-title</dc:title>
  <meta:creation-date>2011-11-11T11:11:11</meta:creation-date><dc:date>2011-11-11T11:11:11</dc:date>
 </office:meta>
 <office:body><office:presentation><draw:page draw:name="page1">
  <draw:frame svg:x="2cm" svg:y="2cm" svg:width="10cm" svg:height="3cm"><draw:text-box><text:p>Hello</text:p></draw:text-box></draw:frame>
  <officeooo:annotation xmlns:officeooo="http://openoffice.org/2009/office" svg:x="1cm" svg:y="1cm"><dc:creator>SCRUBME-odp-comment-author</dc:creator><dc:date>2011-11-11T11:11:11</dc:date><text:p>A comment.</text:p></officeooo:annotation>
 </draw:page></office:presentation></office:body>
</office:document>
XML
# A private profile, so LibreOffice's user name (written as author by some filters) and
# first-start work stay in $TMP.
SO=(soffice -env:UserInstallation=file://$TMP/profile --headless --norestore)
"${SO[@]}" --convert-to odt --outdir "$TMP" "$TMP/doc.fodt" >/dev/null 2>&1
"${SO[@]}" --convert-to docx --outdir "$TMP" "$TMP/doc.fodt" >/dev/null 2>&1
"${SO[@]}" --convert-to ods --outdir "$TMP" "$TMP/sheet.fods" >/dev/null 2>&1
"${SO[@]}" --convert-to xlsx --outdir "$TMP" "$TMP/sheet.fods" >/dev/null 2>&1
"${SO[@]}" --convert-to odp --outdir "$TMP" "$TMP/slides.fodp" >/dev/null 2>&1
"${SO[@]}" --convert-to pptx --outdir "$TMP" "$TMP/slides.fodp" >/dev/null 2>&1
# A PDF exported by LibreOffice (Info and XMP written by another tool).
"${SO[@]}" --convert-to pdf --outdir "$TMP" "$TMP/doc.fodt" >/dev/null 2>&1
cp "$TMP/doc.odt" odf-text.odt
cp "$TMP/doc.docx" ooxml-text.docx
cp "$TMP/sheet.ods" odf-sheet.ods
cp "$TMP/sheet.xlsx" ooxml-sheet.xlsx
cp "$TMP/slides.odp" odf-slides.odp
cp "$TMP/slides.pptx" ooxml-slides.pptx
cp "$TMP/doc.pdf" pdf-libreoffice.pdf

ls -l
